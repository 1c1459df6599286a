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
	"database/sql"
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

// Compare reads every effect on the live and the shadow schema of db, as
// db's role (one that may read both: the administrator's), and compares
// them.
func Compare(ctx context.Context, db *sql.DB, module, live, shadow string, effects []Effect, since time.Time) (Report, error) {
	r := Report{Module: module, Live: live, Shadow: shadow, Since: since.UTC(), Effects: []EffectReport{}}
	var sets [2]Set
	for i, schema := range []string{live, shadow} {
		var exists bool
		if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&exists); err != nil {
			return r, fmt.Errorf("fitness: look up schema %s: %w", schema, err)
		}
		if !exists {
			return r, fmt.Errorf("fitness: there is no schema %s", schema)
		}
		s, err := Read(ctx, db, schema, effects, since)
		if err != nil {
			return r, err
		}
		sets[i] = s
	}
	r.Effects = Diff(sets[0], sets[1])
	return r, nil
}

// Diff compares a live and a shadow set of effects, effect by effect, in
// the order of their names. An effect only one side declares (a newer
// build's) is compared with nothing: all its keys are one-sided.
func Diff(live, shadow Set) []EffectReport {
	var names []string
	for name := range live {
		names = append(names, name)
	}
	for name := range shadow {
		if _, ok := live[name]; !ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	out := []EffectReport{}
	for _, name := range names {
		out = append(out, compare(name, live[name], shadow[name]))
	}
	return out
}

// compare compares one effect's values by key.
func compare(name string, live, shadow Values) EffectReport {
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

// Read reads every effect recorded at or after since on schema, in one
// read-only transaction of db whose search_path is schema: a module reads
// its own with its own pool, an administrator either with theirs.
func Read(ctx context.Context, db *sql.DB, schema string, effects []Effect, since time.Time) (Set, error) {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("fitness: read schema %s: %w", schema, err)
	}
	defer func() { _ = tx.Rollback() }() // read-only: nothing to commit
	if _, err := tx.ExecContext(ctx, "SELECT set_config('search_path', $1, true)", pgx.Identifier{schema}.Sanitize()); err != nil {
		return nil, fmt.Errorf("fitness: read schema %s: %w", schema, err)
	}
	set := Set{}
	for _, e := range effects {
		v, err := readEffect(ctx, tx, e, since)
		if err != nil {
			return nil, fmt.Errorf("fitness: effect %s on schema %s: %w", e.Name, schema, err)
		}
		set[e.Name] = v
	}
	return set, nil
}

func readEffect(ctx context.Context, tx *sql.Tx, e Effect, since time.Time) (Values, error) {
	rows, err := tx.QueryContext(ctx, e.Query, since)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := Values{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}

// SinceFork is when a comparison with the shadow whose schema is schema
// starts: from, or the shadow's fork when that came later. What the live
// module did before the fork reached the shadow as copied state (its
// commissions, say) or not at all (its emails), so comparing it would report
// agreement, or live-only effects, that say nothing of the shadow's build.
// forkTable is the table the fork left in schema (database.ForkTable).
func SinceFork(ctx context.Context, db *sql.DB, schema, forkTable string, from time.Time) (time.Time, error) {
	var forked sql.NullTime
	q := "SELECT max(forked_at) FROM " + pgx.Identifier{schema, forkTable}.Sanitize()
	if err := db.QueryRowContext(ctx, q).Scan(&forked); err != nil {
		return time.Time{}, fmt.Errorf("fitness: when schema %s was forked: %w", schema, err)
	}
	if forked.Valid && forked.Time.After(from) {
		return forked.Time, nil
	}
	return from, nil
}
