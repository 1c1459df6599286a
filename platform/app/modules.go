package app

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/uberservice/uberservice/platform/moduledoc"
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
	// InternalPort serves the module's gateway and ops routes, for other
	// modules and operators: what a peer's URL names.
	InternalPort int `json:"internal_port"`
	// Database says whether the module keeps data: it then has a schema and
	// migrations, and consumes through its inbox.
	Database  bool      `json:"database"`
	Uses      []UseInfo `json:"uses"`
	Publishes []string  `json:"publishes"`
	Consumes  []string  `json:"consumes"`
	// Observes says the module reads every module's internal API as an
	// operator (see Module.Observes).
	Observes bool `json:"observes"`
	// Versions are the older versions of topics among Publishes, which the
	// relay converts from the newer one the module writes (see
	// messaging.Versioned).
	Versions []VersionInfo `json:"versions"`
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
			Name: m.Name, Port: m.Port, InternalPort: m.internalPort(), Database: m.Migrations != nil, Uses: []UseInfo{},
			Publishes: append([]string{}, m.Publishes...), Consumes: append([]string{}, m.Consumes...),
			Observes: m.Observes,
		}
		for _, u := range m.Uses {
			info.Uses = append(info.Uses, UseInfo{Gateway: u.Gateway, Optional: u.Optional})
		}
		info.Versions = versionInfos(m)
		c.Modules = append(c.Modules, info)
	}
	return c
}

func listCommand(args []string, modules []Module, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("modules", flag.ContinueOnError)
	format := fs.String("format", "table", "table (for people), json (for programs), mermaid (the module map) or markdown (the document of docs/modules.md)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	c := catalogue(modules)
	switch *format {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(c)
	case "mermaid", "markdown":
		d, err := document(context.Background(), modules)
		if err != nil {
			return err
		}
		render := moduledoc.Markdown
		if *format == "mermaid" {
			render = moduledoc.Mermaid
		}
		_, err = io.WriteString(stdout, render(d))
		return err
	case "table":
	default:
		return usagef("--format %q: want table, json, mermaid or markdown", *format)
	}
	if err := writeTable(stdout, c); err != nil {
		return err
	}
	return writeVersions(stdout, modules)
}

// writeTable prints c for people, in 80 columns: a module's ports as
// public/internal, its lists one item a line, its events each marked with
// which way they go.
func writeTable(out io.Writer, c Catalogue) error {
	var table bytes.Buffer
	w := tabwriter.NewWriter(&table, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "MODULE\tPORTS\tUSES\tEVENTS")
	for _, m := range c.Modules {
		var uses, events []string
		for _, u := range m.Uses {
			if u.Optional {
				u.Gateway += " (optional)"
			}
			uses = append(uses, u.Gateway)
		}
		for _, t := range m.Publishes {
			events = append(events, "publishes "+t)
		}
		for _, t := range m.Consumes {
			events = append(events, "consumes  "+t)
		}
		for i := range max(1, len(uses), len(events)) {
			name, port := "", ""
			if i == 0 {
				name, port = m.Name, strconv.Itoa(m.Port)+"/"+strconv.Itoa(m.InternalPort)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", name, port, line(uses, i), line(events, i))
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for l := range strings.Lines(table.String()) {
		if _, err := fmt.Fprintln(out, strings.TrimRight(l, " \n")); err != nil {
			return err
		}
	}
	return nil
}

// line is the i-th line of a cell: lines[i], "-" for an empty list, or blank.
func line(lines []string, i int) string {
	switch {
	case i < len(lines):
		return lines[i]
	case i == 0:
		return "-"
	}
	return ""
}
