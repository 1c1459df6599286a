package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/uberservice/uberservice/platform/contract/compat"
)

const contractsUsage = `Usage: uberservice contracts [--out DIR] [--check]

Writes the contracts of the modules of this binary into DIR as JSON Schemas,
generated from their Go types: DIR/events/<topic>.json, the payload of every
topic, and DIR/gateways/<gateway>/<Method>.json, the route, request and
response of every gateway method. Contracts no longer generated are removed.

With --check, writes nothing: compares DIR with the contracts of the code,
lists the changes, breaking ones first, and fails when DIR is not current.

`

// contractsCommand writes or checks the contracts of modules, so that a
// change of an event or a gateway DTO is seen, and a breaking one named as
// such, before it reaches the other side (see package compat).
func contractsCommand(args []string, modules []Module, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("contracts", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), contractsUsage)
		fs.PrintDefaults()
	}
	out := fs.String("out", "contracts", "the folder of the contracts")
	check := fs.Bool("check", false, "compare the folder with the code's contracts instead of writing it")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("contracts: unexpected arguments: %v", fs.Args())
	}
	current, err := contracts(context.Background(), modules)
	if err != nil {
		return err
	}
	files, err := compat.Files(current)
	if err != nil {
		return err
	}
	if !*check {
		if err := compat.Write(*out, files); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %d topics, %d gateway methods\n", *out, len(current.Events), len(current.Methods))
		return nil
	}
	committed, err := compat.ReadFiles(*out)
	if err != nil {
		return err
	}
	stale := compat.Stale(committed, files)
	if len(stale) == 0 {
		fmt.Fprintf(stdout, "%s is current\n", *out)
		return nil
	}
	old, err := compat.Parse(committed)
	if err != nil {
		return err
	}
	report := compat.Compare(old, current)
	fmt.Fprintf(stdout, "%s differs from the contracts of the code in %s\n%s", *out, strings.Join(stale, ", "), report)
	if n := len(report.Breaking()); n > 0 {
		return fmt.Errorf("contracts: %d breaking change(s) against %s", n, *out)
	}
	return fmt.Errorf("contracts: %s is not current: run `make contracts` and commit the result", *out)
}

// contracts are the contracts of modules: the payloads they declare and
// the methods of the gateways they provide, which Inspect learns by running
// each module's Init.
func contracts(ctx context.Context, modules []Module) (compat.Set, error) {
	var s compat.Set
	for _, m := range modules {
		for _, p := range m.Payloads {
			e, err := compat.EventOf(p)
			if err != nil {
				return compat.Set{}, fmt.Errorf("module %s: %w", m.Name, err)
			}
			s.Events = append(s.Events, e)
		}
		in, err := Inspect(ctx, m)
		if err != nil {
			return compat.Set{}, fmt.Errorf("inspect module %s: %w", m.Name, err)
		}
		for gateway, ds := range in.Methods {
			for _, d := range ds {
				method, err := compat.MethodOf(gateway, d)
				if err != nil {
					return compat.Set{}, err
				}
				s.Methods = append(s.Methods, method)
			}
		}
	}
	s.Sort()
	return s, nil
}
