package fitness

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Values are one effect as one instance recorded it: its value by key.
type Values map[string]string

// Set is every effect of an instance, by the effect's name.
type Set map[string]Values

// Row is one key and its value, as Values travel in JSON.
type Row struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// MarshalJSON writes v as a list of rows sorted by key, so that two reads
// of the same effects are the same bytes.
func (v Values) MarshalJSON() ([]byte, error) {
	rows := make([]Row, 0, len(v))
	for k, val := range v {
		rows = append(rows, Row{Key: k, Value: val})
	}
	slices.SortFunc(rows, func(a, b Row) int { return strings.Compare(a.Key, b.Key) })
	return json.Marshal(rows)
}

// UnmarshalJSON reads the list of rows MarshalJSON writes.
func (v *Values) UnmarshalJSON(b []byte) error {
	var rows []Row
	if err := json.Unmarshal(b, &rows); err != nil {
		return err
	}
	*v = make(Values, len(rows))
	for _, r := range rows {
		(*v)[r.Key] = r.Value
	}
	return nil
}

// Snapshot is what an instance of a module answers to GET /ops/effects:
// its own effects since a time, read from its own schema. Two snapshots, the
// live module's and a shadow's, are compared with Diff.
type Snapshot struct {
	Module  string    `json:"module"`
	Shadow  string    `json:"shadow"` // "" for the live module
	Since   time.Time `json:"since"`
	Effects Set       `json:"effects"`
}

// ParseSince reads the start of a window: a positive duration before now
// ("1h", "90m") or an instant (RFC 3339).
func ParseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("want a duration, such as 1h, or a time in RFC 3339")
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("since %q: want a positive duration, such as 1h", s)
		}
		return now.Add(-d).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("since %q: want a duration, such as 1h, or a time in RFC 3339, such as 2026-01-02T15:04:05Z", s)
	}
	return t.UTC(), nil
}
