// Package registry owns talking to registries and the names that address
// them: docker's reference rules and canonical and short names (ref.go),
// credentials and the https-or-allowed-http transport (transport.go), and
// pulling: platform resolution and the streamed download → verify →
// decompress → extract of layers into the store (pull.go, layer.go).
//
// Pushing comes next, beside pull.go: it reuses the references and
// remoteOptions, so neither names a pull.
//
// Searching (search.go): Docker Hub's /v1/search, and a registry's
// catalog and tag lists for REGISTRY/TERM.
package registry
