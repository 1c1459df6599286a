package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// Catalogue is what `uberservice modules --format json` says of a binary's
// modules, in the order the binary lists them. It is the one list of modules
// the launcher, the end-to-end tests and the benchmarks know.
type Catalogue struct {
	Modules []ModuleInfo `json:"modules"`
}

// ModuleInfo is a module as the binary declares it.
type ModuleInfo struct {
	Name      string   `json:"name"`
	Port      int      `json:"port"`
	Database  bool     `json:"database"` // it keeps data: a schema, an inbox, dead letters
	Uses      []Use    `json:"uses"`
	Publishes []string `json:"publishes"`
	Consumes  []string `json:"consumes"`
}

// Use is a gateway a module calls.
type Use struct {
	Gateway  string `json:"gateway"`
	Optional bool   `json:"optional"` // the module runs without it
}

// Names are the modules' names, in order.
func (c Catalogue) Names() []string {
	out := make([]string, len(c.Modules))
	for i, m := range c.Modules {
		out[i] = m.Name
	}
	return out
}

// Module returns the module called name.
func (c Catalogue) Module(name string) (ModuleInfo, bool) {
	for _, m := range c.Modules {
		if m.Name == name {
			return m, true
		}
	}
	return ModuleInfo{}, false
}

var catalogues sync.Map // binary path -> Catalogue

// ReadCatalogue asks binary for its modules (`uberservice modules --format
// json`). The answer is kept per binary path.
func ReadCatalogue(ctx context.Context, binary string) (Catalogue, error) {
	if c, ok := catalogues.Load(binary); ok {
		return c.(Catalogue), nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := Command(ctx, binary, nil, "modules", "--format", "json").Output()
	if err != nil {
		return Catalogue{}, fmt.Errorf("cluster: %s modules --format json: %w", binary, err)
	}
	c, err := parseCatalogue(out)
	if err != nil {
		return Catalogue{}, err
	}
	catalogues.Store(binary, c)
	return c, nil
}

func parseCatalogue(out []byte) (Catalogue, error) {
	var c Catalogue
	dec := json.NewDecoder(bytes.NewReader(out))
	if err := dec.Decode(&c); err != nil {
		return Catalogue{}, fmt.Errorf("cluster: uberservice modules --format json: %w:\n%s", err, out)
	}
	if len(c.Modules) == 0 {
		return Catalogue{}, fmt.Errorf("cluster: uberservice modules lists no module:\n%s", out)
	}
	return c, nil
}
