package app

import (
	"flag"
	"fmt"
	"io"

	"github.com/uberservice/uberservice/platform/deploy"
)

const deployUsage = `Usage: uberservice deploy compose|kubernetes|brokers [--out DIR]

Renders the deployment files of the modules of this binary into DIR:
  compose      DIR/compose.yaml, every module a service of its own on Docker Compose
  kubernetes   DIR/k8s/base (a kustomize base) and DIR/k8s/migrate (a migrate Job)
  brokers      DIR/brokers: the NATS server's users and a script that creates the
               RabbitMQ users, each module's permissions its declared topics

Files rendered before that the modules no longer need are removed; files kept by
hand are left alone.

`

// deployCommand renders the deployment files of modules, so that the list of
// modules in main is the only one: a module added there is deployed by
// rendering again, with no file edited by hand.
func deployCommand(args []string, modules []Module, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("deploy", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), deployUsage)
		fs.PrintDefaults()
	}
	out := fs.String("out", "deploy", "the folder to render into")
	// The target comes first and the flags may follow it, as in
	// `uberservice deploy compose --out DIR`: parse once before it, once after.
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("deploy: want a target: compose, kubernetes or brokers")
	}
	target := fs.Arg(0)
	if err := parseFlags(fs, fs.Args()[1:], stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("deploy %s: unexpected arguments: %v", target, fs.Args())
	}
	var render func([]deploy.Module) ([]deploy.File, error)
	switch target {
	case "compose":
		render = deploy.Compose
	case "kubernetes":
		render = deploy.Kubernetes
	case "brokers":
		render = deploy.Brokers
	default:
		return usagef("deploy: unknown target %q: want compose, kubernetes or brokers", target)
	}
	files, err := render(deployModules(catalogue(modules)))
	if err != nil {
		return err
	}
	if err := deploy.Write(*out, files); err != nil {
		return err
	}
	for _, f := range files {
		fmt.Fprintf(stdout, "%s/%s\n", *out, f.Path)
	}
	return nil
}

// deployModules is c as package deploy takes it.
func deployModules(c Catalogue) []deploy.Module {
	var out []deploy.Module
	for _, m := range c.Modules {
		d := deploy.Module{
			Name: m.Name, Port: m.Port, InternalPort: m.InternalPort, Database: m.Database,
			Publishes: m.Publishes, Consumes: m.Consumes, Observes: m.Observes,
		}
		for _, u := range m.Uses {
			d.Uses = append(d.Uses, deploy.Use{Gateway: u.Gateway, Optional: u.Optional})
		}
		out = append(out, d)
	}
	return out
}
