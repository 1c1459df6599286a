package database_test

import (
	"context"
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
	"gorm.io/gorm"

	"github.com/uberservice/uberservice/platform/database"
)

// The list types reach Postgres as the same arrays whichever way a statement
// goes: pipelined by pgx inside a transaction (where pgx encodes them in
// binary as array getters), through database/sql outside one, or through
// GORM's placeholders (where they are driver.Valuers).
func TestListsArriveAsArraysEveryWay(t *testing.T) {
	ctx := context.Background()
	db := openSchema(t, "lists", 2)
	texts := database.Texts{"plain", `a "quoted" one`, `back\slash`, "comma, and {braces}", "héllo", ""}
	ints := database.Int64s{3, -1, 1 << 40}
	ids := database.UUIDs{uuid.New(), uuid.New()}
	const q = `SELECT $1::text[], cardinality($1::text[]), $2::bigint[], cardinality($2::bigint[]),
		$3::uuid[]::text[], cardinality($3::uuid[]), $4::text[] IS NULL, cardinality($4::text[])`

	check := func(way string, gotTexts []string, nt int, gotInts []int64, ni int, gotIDs []string, nu int, emptyIsNull bool, ne int) {
		t.Helper()
		if !slices.Equal(gotTexts, texts) || nt != len(texts) {
			t.Errorf("%s: texts %q (%d), want %q", way, gotTexts, nt, texts)
		}
		if !slices.Equal(gotInts, ints) || ni != len(ints) {
			t.Errorf("%s: ints %v (%d), want %v", way, gotInts, ni, ints)
		}
		if nu != len(ids) || len(gotIDs) != len(ids) || gotIDs[0] != ids[0].String() || gotIDs[1] != ids[1].String() {
			t.Errorf("%s: uuids %v (%d), want %v", way, gotIDs, nu, ids)
		}
		if emptyIsNull || ne != 0 {
			t.Errorf("%s: a nil list arrived as NULL %v, cardinality %d; want an empty array", way, emptyIsNull, ne)
		}
	}
	args := []any{texts, ints, ids, database.Texts(nil)}

	err := db.Transact(ctx, func(tx *gorm.DB) error {
		var gt, gu []string
		var gi []int64
		var nt, ni, nu, ne int
		var null bool
		if err := database.QueryRow(tx, q, args, &gt, &nt, &gi, &ni, &gu, &nu, &null, &ne); err != nil {
			return err
		}
		check("pipelined", gt, nt, gi, ni, gu, nu, null, ne)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	var gt, gu []string
	var gi []int64
	var nt, ni, nu, ne int
	var null bool
	m := pgtype.NewMap() // database/sql scans an array into what pgx's map wraps
	if err := database.QueryRow(db.DB.WithContext(ctx), q, args, m.SQLScanner(&gt), &nt, m.SQLScanner(&gi), &ni,
		m.SQLScanner(&gu), &nu, &null, &ne); err != nil {
		t.Fatal(err)
	}
	check("database/sql", gt, nt, gi, ni, gu, nu, null, ne)

	var n int64
	if err := db.Raw(`SELECT count(*) FROM unnest(?::text[]) AS t(v) WHERE v = ANY(?::text[])`, texts, database.Texts{"héllo", `a "quoted" one`}).
		Scan(&n).Error; err != nil || n != 2 {
		t.Fatalf("GORM: %d of the texts matched (%v), want 2", n, err)
	}
}
