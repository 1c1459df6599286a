package messaging

import (
	"slices"
	"testing"
)

// The relay publishes runs of one topic together; a later run never
// overtakes an earlier one, so events of different topics keep commit order.
func TestTopicRunsKeepCommitOrderAcrossTopics(t *testing.T) {
	rows := []outboxRow{{ID: 1, Topic: "a"}, {ID: 2, Topic: "a"}, {ID: 3, Topic: "b"}, {ID: 4, Topic: "a"}, {ID: 5, Topic: "a"}, {ID: 6, Topic: "c"}}
	var got [][]int64
	for run := range topicRuns(rows) {
		var ids []int64
		for _, r := range run {
			if r.Topic != run[0].Topic {
				t.Fatalf("run %v mixes topics", run)
			}
			ids = append(ids, r.ID)
		}
		got = append(got, ids)
	}
	want := [][]int64{{1, 2}, {3}, {4, 5}, {6}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("runs %v, want %v", got, want)
	}
	for range topicRuns(nil) {
		t.Fatal("no rows, no runs")
	}
}
