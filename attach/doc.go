// Package attach owns the byte protocol between a container's monitor and
// the clients attached to it (skiff run in the foreground, attach, start -a,
// exec): typed, length-prefixed frames over a unix stream socket, the
// socket's listen and dial, and the client side of a session.
package attach
