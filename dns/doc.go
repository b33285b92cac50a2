// Package dns owns the DNS responder a container's monitor serves inside
// the container's network namespace, docker's embedded server at
// 127.0.0.11: it answers the names of the container's networks (A and
// AAAA from the caller's membership records, every address of a shared
// alias, rotated per query) and forwards every other name, unchanged but
// for its id, to the container's upstream servers, over UDP and TCP.
//
// What docker's embedded server does and this one keeps (moby's
// libnetwork/resolver.go): answers carry TTL 600 and recursion available;
// a known name asked for another type (MX, TXT, ...) or for a family it has
// no address of gets NOERROR with no records (docker does so for A, AAAA
// and MX and forwards the rest; a name that exists for A but is NXDOMAIN
// for TXT confuses resolvers, so this server answers every type of a known
// name); an upstream answering SERVFAIL or REFUSED, or silent for the try's
// deadline, passes the query to the next one; nothing left answers
// SERVFAIL. docker shuffles a shared alias's addresses at random; this
// server rotates them, so each address comes first equally often.
//
// Names: the records are asked for the question's name lowercased and
// without its trailing dot (docker matches names without regard to case),
// so they keep their names lowercase. docker answers a member by its
// container name, its aliases and its short id, each also as NAME.NETWORK:
// moby's sandbox ResolveName tries a.b.c.d on every network of the
// container, then a.b.c on network d, a.b on network c.d, a on network
// b.c.d. The Resolver, which knows the networks, answers those forms.
//
// Bounds, so that a flood cannot grow the monitor: known names are answered
// on the reading goroutine into a reply buffer it reuses; forwarded
// queries each take a slot of a semaphore (MaxInFlight) and are dropped
// when none is free (the client retries, as with a lost datagram); TCP
// connections take a slot of their own (MaxConns), answer one query at a
// time and close when idle; every upstream try has a deadline.
//
// Where it listens: Listen binds 127.0.0.11 on one random port for UDP and
// TCP in the calling thread's network namespace; RedirectRules is the
// nftables table that sends the container's 127.0.0.11:53 to that port (as
// docker's iptables DNAT in the container's namespace), so a container can
// run its own server on port 53.
package dns
