package app

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/uberservice/uberservice/platform/identity"
	"github.com/uberservice/uberservice/platform/peerauth"
	"github.com/uberservice/uberservice/platform/pgembed"
)

const keysUsage = `Usage:
  uberservice keys generate --out DIR     write a new key set for every module and the operator
  uberservice keys rotate [--keys DIR] NAME   give NAME a new key, keeping its old public key
  uberservice keys retire [--keys DIR] NAME   end a rotation: keep only NAME's current public key
  uberservice keys token [--keys DIR] [--ttl D]   print an operator's token for the ops routes

A key set is a folder: NAME.key is the private key of a module (or of the
operator), NAME.pub the public keys every process verifies it with; generate
adds the development issuer's key of people's tokens ('uberservice token'),
which a process uses when no --oidc-issuer is given. A process
needs the .key of the modules it runs and every .pub. Without --keys (env
UBERSERVICE_KEYS_DIR), the development key set beside the embedded Postgres's
data is used, and made on first use.

`

// keysDir is the folder of a process's key set: dir, as --keys (or
// UBERSERVICE_KEYS_DIR) says, else the development key set's beside the
// embedded Postgres's data in pgDir; development says which.
func keysDir(dir, pgDir string) (_ string, development bool) {
	if dir != "" {
		return dir, false
	}
	return peerauth.DevelopmentDir(pgDir), true
}

// loadKeys loads the key set in dir or, when dir is empty, the development
// key set, made with a key for every module and the operator if missing.
func loadKeys(dir, pgDir string, modules []Module, log *slog.Logger) (*peerauth.KeySet, error) {
	if dir == "" {
		var err error
		if dir, err = developmentKeys(pgDir, modules); err != nil {
			return nil, err
		}
		log.Info("using the development key set (give --keys in production)", "dir", dir)
	}
	keys, err := peerauth.Load(dir)
	if err != nil {
		return nil, &UsageError{err.Error()}
	}
	return keys, nil
}

// developmentKeys makes the development key set beside the embedded
// Postgres's data in pgDir, with what it lacks, and returns its folder.
func developmentKeys(pgDir string, modules []Module) (string, error) {
	dir := peerauth.DevelopmentDir(pgDir)
	return dir, peerauth.EnsureDevelopment(dir, keyNames(modules)...)
}

// keyNames are the names a deployment has keys for: every module and the
// operator.
func keyNames(modules []Module) []string {
	names := []string{peerauth.Operator}
	for _, m := range modules {
		names = append(names, m.Name)
	}
	return names
}

func keysCommand(args []string, modules []Module, stdout io.Writer) error {
	fs := flag.NewFlagSet("keys", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), keysUsage)
		fs.PrintDefaults()
	}
	dir := fs.String("keys", os.Getenv(peerauth.DirEnv), "the key set (env UBERSERVICE_KEYS_DIR; default the development key set)")
	out := fs.String("out", "", "the folder a new key set is written to (generate)")
	ttl := fs.Duration("ttl", time.Hour, "how long an operator's token lives (token), at most "+peerauth.MaxLifetime.String())
	pgDir := fs.String("embedded-postgres-dir", envOr("UBERSERVICE_EMBEDDED_POSTGRES_DIR", pgembed.DefaultDir()), "data folder of the embedded Postgres, beside which the development key set lives")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("keys: want generate, rotate, retire or token (see 'uberservice keys -h')")
	}
	what, rest := fs.Arg(0), fs.Args()[1:]
	if err := parseFlags(fs, rest, stdout); err != nil {
		return err
	}
	var development bool
	*dir, development = keysDir(*dir, *pgDir)
	switch what {
	case "generate":
		if *out == "" || fs.NArg() > 0 {
			return usagef("keys generate: want --out DIR and nothing else")
		}
		if err := peerauth.Generate(*out, keyNames(modules)...); err != nil {
			return err
		}
		// The development issuer's key too, so that a stack that mounts the
		// set read-only (Compose) verifies people's tokens with no identity
		// provider, and `uberservice token --keys DIR` mints them. A
		// deployment with an issuer (--oidc-issuer) never reads it.
		if _, err := identity.Development(*out); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: a key pair for each of %v, and the development issuer's key, %s\n", *out, keyNames(modules), identity.DevelopmentKeyFile)
		return nil
	case "rotate":
		if fs.NArg() != 1 {
			return usagef("keys rotate: want one NAME")
		}
		return peerauth.Rotate(*dir, fs.Arg(0))
	case "retire":
		if fs.NArg() != 1 {
			return usagef("keys retire: want one NAME")
		}
		return peerauth.Retire(*dir, fs.Arg(0))
	case "token":
		if fs.NArg() > 0 {
			return usagef("keys token: unexpected arguments %v", fs.Args())
		}
		if *ttl <= 0 || *ttl > peerauth.MaxLifetime {
			return usagef("keys token: --ttl %s: want more than 0 and at most %s", *ttl, peerauth.MaxLifetime)
		}
		if development {
			if _, err := developmentKeys(*pgDir, modules); err != nil {
				return err
			}
		}
		keys, err := peerauth.Load(*dir)
		if err != nil {
			return err
		}
		signer, err := keys.Signer(peerauth.Operator)
		if err != nil {
			return err
		}
		token, err := signer.Mint(peerauth.OpsAudience, *ttl, peerauth.Operator)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, token)
		return err
	}
	return usagef("keys: unknown %q: want generate, rotate, retire or token", what)
}
