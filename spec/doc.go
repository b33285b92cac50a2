// Package spec builds a container's OCI config from an image's config and
// docker's run flags (argv, env, workdir, user, hostname, mounts, caps):
// where volumes, security options, resources and ports are added next.
package spec
