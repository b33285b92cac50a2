// Package spec builds a container's OCI config from an image's config and
// docker's run flags (argv, env, workdir, user, hostname, mounts and the
// mount flags' parsers, caps): where security options, resources and
// ports are added next.
package spec
