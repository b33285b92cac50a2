// Package registry owns talking to registries and the names that address
// them: docker's reference rules and canonical and short names (ref.go),
// credentials and the https-or-allowed-http transport (transport.go), and
// pulling: platform resolution and the streamed download → verify →
// decompress → extract of layers into the store (pull.go, layer.go);
// pushing the store's own bytes (push.go, push_session.go); and docker's
// config.json and credential helpers for login and logout (credentials.go).
//
// Searching (search.go): Docker Hub's /v1/search, and a registry's
// catalog and tag lists for REGISTRY/TERM.
package registry
