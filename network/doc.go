// Package network owns container networking: the loopback interface of a
// fresh network namespace, and the default bridge (skiff0, skiff's own
// nftables table, the address allocator, a container's veth and published
// ports); user networks (records, members and addresses, their bridges,
// isolation and NAT rules, a container's veths into them); the rootless
// stack later.
//
// Why "network": it names the subject as docker does (`docker network`,
// moby's libnetwork). It is not "net": that would shadow the standard
// library's net, which this package's own bridge and port code needs
// (net.IP, net.IPNet, listeners), as does every caller that also dials;
// and not "netns" or "netlink": those are the packages of
// github.com/vishvananda, which this package imports, and a namespace is
// only one of the things it sets up.
package network
