package fitness

import (
	"bytes"
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"
)

func TestCompareSortsKeysIntoAgreeDifferAndOneSided(t *testing.T) {
	live := map[string]string{"a": "1", "b": "2", "c": "3", "d": "4"}
	shadow := map[string]string{"a": "1", "b": "20", "c": "3", "e": "5"}
	r := compare("commission", live, shadow)
	if r.Agree != 2 || len(r.Differ) != 1 || r.Differ[0] != "b" ||
		len(r.LiveOnly) != 1 || r.LiveOnly[0] != "d" || len(r.ShadowOnly) != 1 || r.ShadowOnly[0] != "e" {
		t.Fatalf("report %+v", r)
	}
	if len(r.Examples) != 3 || r.Examples[0] != (Difference{Key: "b", Live: "2", Shadow: "20"}) {
		t.Fatalf("examples %+v, want the difference first", r.Examples)
	}
	rep := Report{Module: "im", Live: "im", Shadow: "im_canary", Effects: []EffectReport{r}}
	if rep.Agrees() {
		t.Fatal("a report with differences agrees")
	}
	var out bytes.Buffer
	if err := rep.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"commission", "live:   2", "shadow: 20", "shadow: (none)"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("text report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestCompareBoundsTheExamples(t *testing.T) {
	live, shadow := map[string]string{}, map[string]string{}
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		live[k], shadow[k] = "1", "2"
	}
	if r := compare("x", live, shadow); len(r.Differ) != 7 || len(r.Examples) != maxExamples {
		t.Fatalf("report %+v", r)
	}
}

func TestDiffComparesEveryEffectEitherSideHas(t *testing.T) {
	live := Set{"commission": {"a": "1", "b": "2"}, "gone": {"x": "1"}}
	shadow := Set{"commission": {"a": "1", "b": "3"}, "added": {"y": "2"}}
	got := Diff(live, shadow)
	if len(got) != 3 || got[0].Name != "added" || got[1].Name != "commission" || got[2].Name != "gone" {
		t.Fatalf("effects %+v, want added, commission and gone, by name", got)
	}
	if got[0].Agree != 0 || len(got[0].ShadowOnly) != 1 || got[1].Agree != 1 || len(got[1].Differ) != 1 || len(got[2].LiveOnly) != 1 {
		t.Fatalf("report %+v", got)
	}
}

func TestSnapshotTravelsAsSortedRows(t *testing.T) {
	s := Snapshot{Module: "im", Shadow: "canary", Effects: Set{"commission": {"b": "2", "a": "1"}, "none": {}}}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"effects":{"commission":[{"key":"a","value":"1"},{"key":"b","value":"2"}],"none":[]}`) {
		t.Fatalf("json %s", b)
	}
	var back Snapshot
	if err := json.Unmarshal(b, &back); err != nil || !maps.Equal(back.Effects["commission"], s.Effects["commission"]) || back.Effects["none"] == nil {
		t.Fatalf("round trip %+v, %v", back, err)
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"1h":                        now.Add(-time.Hour),
		"90m":                       now.Add(-90 * time.Minute),
		"2026-01-02T10:00:00+02:00": time.Date(2026, 1, 2, 8, 0, 0, 0, time.UTC),
	} {
		if got, err := ParseSince(in, now); err != nil || !got.Equal(want) {
			t.Errorf("ParseSince(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0s", "-1h", "yesterday", "2026-01-02"} {
		if _, err := ParseSince(bad, now); err == nil {
			t.Errorf("ParseSince(%q) accepted", bad)
		}
	}
}
