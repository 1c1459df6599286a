package cluster

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ModuleInfo is a module's row of `uberservice modules`.
type ModuleInfo struct {
	Name      string
	Port      int
	Uses      []string // the gateways it calls
	Publishes []string // the topics it publishes
	Consumes  []string // the topics it handles
}

var catalogues sync.Map // binary path -> map[string]ModuleInfo

// Catalogue is what `uberservice modules` says of every module of binary.
// The answer is kept per binary path.
func Catalogue(ctx context.Context, binary string) (map[string]ModuleInfo, error) {
	if c, ok := catalogues.Load(binary); ok {
		return c.(map[string]ModuleInfo), nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := Command(ctx, binary, nil, "modules").Output()
	if err != nil {
		return nil, fmt.Errorf("cluster: %s modules: %w", binary, err)
	}
	c, err := parseCatalogue(string(out))
	if err != nil {
		return nil, err
	}
	catalogues.Store(binary, c)
	return c, nil
}

func parseCatalogue(out string) (map[string]ModuleInfo, error) {
	list := func(s string) []string {
		if s == "-" {
			return nil
		}
		return strings.Split(s, ",")
	}
	c := map[string]ModuleInfo{}
	lines := strings.Split(out, "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "MODULE") {
		return nil, fmt.Errorf("cluster: unexpected output of uberservice modules:\n%s", out)
	}
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) != 5 {
			continue
		}
		port, err := strconv.Atoi(f[1])
		if err != nil {
			return nil, fmt.Errorf("cluster: uberservice modules: port of %s: %w", f[0], err)
		}
		c[f[0]] = ModuleInfo{Name: f[0], Port: port, Uses: list(f[2]), Publishes: list(f[3]), Consumes: list(f[4])}
	}
	if len(c) == 0 {
		return nil, fmt.Errorf("cluster: uberservice modules lists no module:\n%s", out)
	}
	return c, nil
}
