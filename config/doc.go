// Package config owns skiff's global settings: where the store (--root) and the
// runtime state (--runroot) live for root and for other users, and the JSON
// config file shaped like docker's daemon.json (insecure-registries, and the
// default bridge's bip and default-address-pools).
package config
