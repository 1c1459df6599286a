// Package fitness compares what two instances of a module did: the live one
// and a shadow that consumed the same events into a schema of its own (see
// `uberservice run --shadow`). A module declares its effects as queries over
// its schema; Compare runs each on both schemas and reports, effect by effect,
// the keys whose values agree, those that differ and those one side alone has.
//
// It is the fitness function of Fred George's story: a new version runs beside
// the old one, and nobody switches before the two are seen to agree, or to
// differ only where the new one was meant to.
package fitness

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// Effect is one kind of effect a module has, as a query over its schema.
type Effect struct {
	// Name names the effect in reports: "commission", "manager_email".
	Name string
	// Query returns the effects recorded at or after $1 (a timestamptz) as
	// rows of (key text, value text): the key says which input caused the
	// effect (a deposit's transaction id), so that the live and the shadow
	// rows of one input meet; the value is what the module did about it. It
	// runs with search_path set to the schema, so it names no schema.
	Query string
}

// Report is a comparison of a module's effects on two schemas.
type Report struct {
	Module  string         `json:"module"`
	Live    string         `json:"live_schema"`
	Shadow  string         `json:"shadow_schema"`
	Since   time.Time      `json:"since"`
	Effects []EffectReport `json:"effects"`
}

// EffectReport is the comparison of one effect. Differ, LiveOnly and
// ShadowOnly hold every key, sorted; Examples the first few differences.
type EffectReport struct {
	Name       string       `json:"name"`
	Agree      int          `json:"agree"`
	Differ     []string     `json:"differ"`
	LiveOnly   []string     `json:"live_only"`
	ShadowOnly []string     `json:"shadow_only"`
	Examples   []Difference `json:"examples"`
}

// Difference is one key whose values differ, or that one side lacks (its
// value is then "").
type Difference struct {
	Key    string `json:"key"`
	Live   string `json:"live"`
	Shadow string `json:"shadow"`
}

// Agrees reports whether every effect agrees.
func (r Report) Agrees() bool {
	for _, e := range r.Effects {
		if len(e.Differ)+len(e.LiveOnly)+len(e.ShadowOnly) > 0 {
			return false
		}
	}
	return true
}

// maxExamples bounds the differences a report shows by value.
const maxExamples = 5

// Compare runs every effect's query on the live and the shadow schema of the
// database conn is connected to, as conn's role, and compares the results.
func Compare(ctx context.Context, conn *pgx.Conn, module, live, shadow string, effects []Effect, since time.Time) (Report, error) {
	r := Report{Module: module, Live: live, Shadow: shadow, Since: since.UTC(), Effects: []EffectReport{}}
	for _, schema := range []string{live, shadow} {
		var exists bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&exists); err != nil {
			return r, fmt.Errorf("fitness: look up schema %s: %w", schema, err)
		}
		if !exists {
			return r, fmt.Errorf("fitness: there is no schema %s", schema)
		}
	}
	for _, e := range effects {
		l, err := read(ctx, conn, live, e, since)
		if err != nil {
			return r, err
		}
		s, err := read(ctx, conn, shadow, e, since)
		if err != nil {
			return r, err
		}
		r.Effects = append(r.Effects, compare(e.Name, l, s))
	}
	return r, nil
}

// compare compares one effect's values by key.
func compare(name string, live, shadow map[string]string) EffectReport {
	er := EffectReport{Name: name, Differ: []string{}, LiveOnly: []string{}, ShadowOnly: []string{}, Examples: []Difference{}}
	var diffs []Difference
	for k, lv := range live {
		sv, ok := shadow[k]
		switch {
		case !ok:
			er.LiveOnly = append(er.LiveOnly, k)
			diffs = append(diffs, Difference{Key: k, Live: lv})
		case sv == lv:
			er.Agree++
		default:
			er.Differ = append(er.Differ, k)
			diffs = append(diffs, Difference{Key: k, Live: lv, Shadow: sv})
		}
	}
	for k, sv := range shadow {
		if _, ok := live[k]; !ok {
			er.ShadowOnly = append(er.ShadowOnly, k)
			diffs = append(diffs, Difference{Key: k, Shadow: sv})
		}
	}
	slices.Sort(er.Differ)
	slices.Sort(er.LiveOnly)
	slices.Sort(er.ShadowOnly)
	slices.SortFunc(diffs, func(a, b Difference) int {
		// Those that differ first: they are what a reader looks for.
		if ab, bb := a.Live != "" && a.Shadow != "", b.Live != "" && b.Shadow != ""; ab != bb {
			if ab {
				return -1
			}
			return 1
		}
		if a.Key < b.Key {
			return -1
		}
		if a.Key > b.Key {
			return 1
		}
		return 0
	})
	er.Examples = append(er.Examples, diffs[:min(len(diffs), maxExamples)]...)
	return er
}

// read runs e's query on schema, in a read-only transaction whose
// search_path is schema.
func read(ctx context.Context, conn *pgx.Conn, schema string, e Effect, since time.Time) (map[string]string, error) {
	out := map[string]string{}
	err := pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT set_config('search_path', $1, true)", pgx.Identifier{schema}.Sanitize()); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, e.Query, since)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k, v string
			if err := rows.Scan(&k, &v); err != nil {
				return err
			}
			out[k] = v
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("fitness: effect %s on schema %s: %w", e.Name, schema, err)
	}
	return out, nil
}
