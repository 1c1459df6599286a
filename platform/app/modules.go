package app

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Catalogue is what `uberservice modules --format json` prints: every module
// of the binary as it declares itself. The launcher of the end-to-end tests,
// the benchmarks and the deployment renderer read it, so that no list of
// modules is kept anywhere but in main.
type Catalogue struct {
	Modules []ModuleInfo `json:"modules"`
}

// ModuleInfo is one module of the Catalogue. Lists are never null.
type ModuleInfo struct {
	Name string `json:"name"`
	Port int    `json:"port"`
	// Database says whether the module keeps data: it then has a schema and
	// migrations, and consumes through its inbox.
	Database  bool      `json:"database"`
	Uses      []UseInfo `json:"uses"`
	Publishes []string  `json:"publishes"`
	Consumes  []string  `json:"consumes"`
}

// UseInfo is a gateway a module calls.
type UseInfo struct {
	Gateway string `json:"gateway"`
	// Optional says the module runs without it: a call then answers
	// unavailable.
	Optional bool `json:"optional"`
}

// catalogue describes modules.
func catalogue(modules []Module) Catalogue {
	c := Catalogue{Modules: []ModuleInfo{}}
	for _, m := range modules {
		info := ModuleInfo{
			Name: m.Name, Port: m.Port, Database: m.Migrations != nil, Uses: []UseInfo{},
			Publishes: append([]string{}, m.Publishes...), Consumes: append([]string{}, m.Consumes...),
		}
		for _, u := range m.Uses {
			info.Uses = append(info.Uses, UseInfo{Gateway: u.Gateway, Optional: u.Optional})
		}
		c.Modules = append(c.Modules, info)
	}
	return c
}

func listCommand(args []string, modules []Module, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("modules", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "table", "table (for people) or json (for programs)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c := catalogue(modules)
	switch *format {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(c)
	case "table":
	default:
		return usagef("--format %q: want table or json", *format)
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "MODULE\tPORT\tUSES GATEWAYS\tPUBLISHES\tCONSUMES")
	for _, m := range c.Modules {
		var uses []string
		for _, u := range m.Uses {
			name := u.Gateway
			if u.Optional {
				name += "?"
			}
			uses = append(uses, name)
		}
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\n", m.Name, m.Port, orNone(uses), orNone(m.Publishes), orNone(m.Consumes))
	}
	return w.Flush()
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ",")
}
