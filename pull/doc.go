// Package pull owns getting images from registries: docker's reference rules,
// credentials, platform resolution, and the streamed download → verify →
// decompress → extract of layers into the store.
package pull
