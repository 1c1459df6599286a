package app

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/uberservice/uberservice/platform/identity"
	"github.com/uberservice/uberservice/platform/peerauth"
	"github.com/uberservice/uberservice/platform/pgembed"
)

const tokenUsage = `Usage:
  uberservice token --subject SUBJECT --role ROLE[,ROLE] [--ttl D]

prints a token of the development issuer for the person SUBJECT with the
roles ROLE (customer, manager, staff, operator), for the public API of
modules run with the same key set and no --oidc-issuer: send it as
"Authorization: Bearer TOKEN". The issuer's key is in the key set's folder
(--keys, env UBERSERVICE_KEYS_DIR; default the development key set beside
the embedded Postgres's data), made on first use. With an issuer configured,
tokens come from that identity provider, not from here.

`

func tokenCommand(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), tokenUsage)
		fs.PrintDefaults()
	}
	subject := fs.String("subject", "", "the person: the token's sub")
	var roles multiFlag
	fs.Var(&roles, "role", "the person's roles, comma-separated or repeated: "+fmt.Sprint(identity.Roles()))
	ttl := fs.Duration("ttl", time.Hour, "how long the token lives, at most "+identity.MaxDevelopmentTTL.String())
	dir := fs.String("keys", os.Getenv(peerauth.DirEnv), "the key set, whose folder holds the development issuer's key (env UBERSERVICE_KEYS_DIR; default the development key set)")
	pgDir := fs.String("embedded-postgres-dir", envOr("UBERSERVICE_EMBEDDED_POSTGRES_DIR", pgembed.DefaultDir()), "data folder of the embedded Postgres, beside which the development key set lives")
	var people identityFlags
	people.register(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("token: unexpected arguments %v", fs.Args())
	}
	if people.issuer != "" {
		return usagef("token: the issuer is %s (--oidc-issuer): tokens come from your identity provider", people.issuer)
	}
	if err := people.check(); err != nil {
		return err
	}
	if err := identity.CheckSubject(*subject); err != nil {
		return usagef("token: --subject: %v", err)
	}
	if len(roles) == 0 {
		return usagef("token: want --role, one or more of %v", identity.Roles())
	}
	var rs []identity.Role
	for _, r := range roles {
		role := identity.Role(r)
		if !role.Known() {
			return usagef("token: --role %q: unknown; want one or more of %v", r, identity.Roles())
		}
		if !slices.Contains(rs, role) {
			rs = append(rs, role)
		}
	}
	if *ttl <= 0 || *ttl > identity.MaxDevelopmentTTL {
		return usagef("token: --ttl %s: want more than 0 and at most %s", *ttl, identity.MaxDevelopmentTTL)
	}
	keys, _ := keysDir(*dir, *pgDir)
	iss, err := identity.Development(keys)
	if err != nil {
		return err
	}
	token, err := iss.Mint(*subject, rs, *ttl)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, token)
	return err
}
