package database

// NarrowFor is how long a pool stays narrow when nothing widens it sooner.
const NarrowFor = narrowFor

const GroupsInFlight = groupsInFlight

// Queued is how many grouped transactions of db wait for a group.
func Queued(db *DB) int {
	db.groups.mu.Lock()
	defer db.groups.mu.Unlock()
	return len(db.groups.queue)
}
