package fitness

import (
	"bytes"
	"strings"
	"testing"
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
