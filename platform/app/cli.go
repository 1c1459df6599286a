package app

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/uberservice/uberservice/platform/pgembed"
)

const usageText = `uberservice runs any subset of its modules: all in one process, or each in a process of its own.

Usage:
  uberservice [run] [flags]      start modules (the default command)
  uberservice migrate [flags]    apply migrations and exit
  uberservice modules [--format json|mermaid|markdown]   list the modules: port, gateways, events; or their map, or their document
  uberservice keys generate|rotate|retire|token   make a key set, rotate a key, end a rotation, print an operator's token
  uberservice token --subject SUBJECT --role ROLE[,ROLE] [--ttl D]   print a person's token of the development issuer, for the public API
  uberservice compare MODULE --shadow NAME [--since 1h] [--format json]   compare a shadow's effects with the live module's
  uberservice shadow remove MODULE --shadow NAME   drop a shadow's schema, role and consumer group
  uberservice probe URL          GET URL; exit 0 on a 2xx (a health check for images with no shell)
  uberservice deploy compose|kubernetes|brokers [--out DIR]   render the deployment files of the modules
  uberservice contracts [--out DIR] [--check]   write the JSON Schemas of the events and gateways, or check them

Run 'uberservice <command> -h' for the flags of a command.
`

// Main is the whole command line of the binary; it returns the exit code.
func Main(args []string, modules ...Module) int {
	return run(args, modules, os.Stdout, os.Stderr)
}

func run(args []string, modules []Module, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == pgembed.ChildCommand {
		return pgembed.RunChild(args[1:])
	}
	cmd := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "run":
		err = runCommand(args, modules, stdout, stderr)
	case "migrate":
		err = migrateCommand(args, modules, stdout, stderr)
	case "modules":
		err = listCommand(args, modules, stdout, stderr)
	case "keys":
		err = keysCommand(args, modules, stdout)
	case "token":
		err = tokenCommand(args, stdout)
	case "deploy":
		err = deployCommand(args, modules, stdout, stderr)
	case "contracts":
		err = contractsCommand(args, modules, stdout, stderr)
	case "compare":
		err = compareCommand(args, modules, stdout, stderr)
	case "shadow":
		err = shadowCommand(args, modules, stdout, stderr)
	case "probe":
		err = probeCommand(args)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usageText)
		return 0
	default:
		fmt.Fprintf(stderr, "uberservice: unknown command %q\n\n%s", cmd, usageText)
		return 2
	}
	var usage *UsageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "uberservice: %v\n", err)
		return 2
	default:
		fmt.Fprintf(stderr, "uberservice: %v\n", err)
		return 1
	}
}

// parseFlags parses args into fs. Help asked for (-h, --help) is printed on
// stdout, where a reader piping it into a pager looks for it, and parseFlags
// returns flag.ErrHelp; a bad flag is a UsageError that points at the help
// instead of printing all of it among the errors.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	var out bytes.Buffer
	fs.SetOutput(&out)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		_, _ = out.WriteTo(stdout)
		return err
	case err != nil:
		return usagef("%v (see 'uberservice %s -h')", err, fs.Name())
	}
	return nil
}
