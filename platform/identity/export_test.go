package identity

import "time"

// SetRefreshGap sets how long v waits, after fetching the keys for a token
// whose key it did not know, before it fetches them again for another.
func SetRefreshGap(v *Verifier, d time.Duration) {
	v.refreshing <- struct{}{}
	v.refreshGap = d
	<-v.refreshing
}
