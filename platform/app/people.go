package app

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/uberservice/uberservice/platform/identity"
)

// peopleTimeout bounds the discovery of the identity provider and the first
// fetch of its keys at start-up.
const peopleTimeout = 30 * time.Second

// verifyPeople builds the verifier of people's tokens, when an issuer is
// configured, and gives it to every module started here: an issuer out of
// reach, or one that is not what it was configured as, fails start-up
// rather than every request.
func (s *System) verifyPeople(ctx context.Context) error {
	if s.cfg.Identity.Issuer == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, peopleTimeout)
	defer cancel()
	v, err := identity.NewVerifier(ctx, s.cfg.Identity)
	if err != nil {
		return fmt.Errorf("the issuer of people's tokens (--oidc-issuer): %w", err)
	}
	s.onStop(func(context.Context) error { return v.Close() })
	for _, r := range s.modules {
		r.env.People = v
	}
	return nil
}

// identityFlags are the options that name the issuer of people's tokens,
// of run and token.
type identityFlags struct {
	issuer, audience, jwksURL, rolesClaim string
}

func (f *identityFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.issuer, "oidc-issuer", os.Getenv("UBERSERVICE_OIDC_ISSUER"), "the OpenID Connect issuer of the tokens of the people who call the public API, e.g. https://login.example.com/realms/shop (env UBERSERVICE_OIDC_ISSUER; default the development issuer, whose tokens 'uberservice token' prints)")
	fs.StringVar(&f.audience, "oidc-audience", envOr("UBERSERVICE_OIDC_AUDIENCE", identity.DefaultAudience), "what the aud of a person's token must include (env UBERSERVICE_OIDC_AUDIENCE)")
	fs.StringVar(&f.jwksURL, "oidc-jwks-url", os.Getenv("UBERSERVICE_OIDC_JWKS_URL"), "where the issuer's keys are, if not where its discovery document says (env UBERSERVICE_OIDC_JWKS_URL)")
	fs.StringVar(&f.rolesClaim, "oidc-roles-claim", envOr("UBERSERVICE_OIDC_ROLES_CLAIM", identity.DefaultRolesClaim), "the claim of a person's roles, a list or a space-separated string; a dotted path reaches into objects, as realm_access.roles does in Keycloak's tokens (env UBERSERVICE_OIDC_ROLES_CLAIM)")
}

// check refuses options that configure an issuer when none is named: the
// development issuer's tokens are its own.
func (f *identityFlags) check() error {
	if f.issuer == "" && (f.jwksURL != "" || f.audience != identity.DefaultAudience || f.rolesClaim != identity.DefaultRolesClaim) {
		return usagef("--oidc-audience, --oidc-jwks-url and --oidc-roles-claim configure the issuer --oidc-issuer names, and none is named")
	}
	return nil
}

// config is the configuration of the verifier of people's tokens: the
// issuer named, or else the development issuer whose key is in the key
// set's folder, dir (development when it is the development key set's).
//
// A deployment's key set may be read-only: `uberservice keys generate`
// puts the development issuer's key in it, for a development stack such as
// the Compose file's. Without that key, and with no issuer named, nothing
// could verify a person, and every request of the public API would be
// refused: run refuses to start instead.
func (f *identityFlags) config(dir string, development bool, log *slog.Logger) (identity.Config, error) {
	if err := f.check(); err != nil {
		return identity.Config{}, err
	}
	if f.issuer != "" {
		cfg := identity.Config{Issuer: f.issuer, Audience: f.audience, JWKSURL: f.jwksURL, RolesClaim: f.rolesClaim}
		if err := cfg.Check(); err != nil {
			return cfg, &UsageError{err.Error()}
		}
		return cfg, nil
	}
	iss, err := identity.Development(dir)
	switch {
	case err != nil && development:
		return identity.Config{}, err
	case err != nil:
		return identity.Config{}, usagef("no issuer of people's tokens: give --oidc-issuer, or a key set made by `uberservice keys generate`, which holds the development issuer's key (%v)", err)
	case development:
		log.Info("people's tokens come from the development issuer: `uberservice token` prints one (give --oidc-issuer in production)")
	default:
		log.Warn("people's tokens come from the development issuer, whose key is in the key set: give --oidc-issuer in production", "dir", dir)
	}
	return iss.Config(), nil
}
