// Package migrations embeds every module's SQL migrations into the binary. Each
// module's live in the folder named after it and are applied to its own schema.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed */*.sql
var files embed.FS

// For returns the migrations of module; it panics when the module has none,
// which is a build mistake, not a runtime condition.
func For(module string) fs.FS {
	sub, err := fs.Sub(files, module)
	if err != nil {
		panic(err)
	}
	if _, err := fs.ReadDir(sub, "."); err != nil {
		panic("migrations: no migrations for module " + module)
	}
	return sub
}
