package identity

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// PersonHeader carries, on a gateway call made across processes, the person
// the calling module acts for: orders debiting the account of the customer
// who placed the order, say. The provider owns the data and checks that the
// person may touch it, as it would for the person's own request.
//
// The header is a module's word, not the person's token: the runtime lets it
// in only on a call whose module token it verified, from a module that
// declares the gateway, and a module may act for a person long after the
// person's token expired (a saga resumed after a crash). In one process the
// person travels in the call's context, as everything else does.
const PersonHeader = "Uberservice-Person"

// maxPersonHeader bounds the header: a subject of MaxSubjectLen bytes, every
// role, and their encoding.
const maxPersonHeader = 1024

// EncodePerson is p as PersonHeader carries it: its JSON, base64url, so that
// any subject an issuer may use travels intact in a header.
func EncodePerson(p Person) string {
	data, _ := json.Marshal(onBehalf{Subject: p.Subject, Roles: p.Roles}) // strings only: cannot fail
	return base64.RawURLEncoding.EncodeToString(data)
}

// DecodePerson is the person a PersonHeader value names, or an error when it
// is not one EncodePerson makes: a bad subject, or a role this system does
// not know.
func DecodePerson(value string) (Person, error) {
	if len(value) > maxPersonHeader {
		return Person{}, fmt.Errorf("identity: %s of %d bytes is over %d", PersonHeader, len(value), maxPersonHeader)
	}
	data, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil {
		return Person{}, fmt.Errorf("identity: %s: %w", PersonHeader, err)
	}
	var b onBehalf
	if err := json.Unmarshal(data, &b); err != nil {
		return Person{}, fmt.Errorf("identity: %s: %w", PersonHeader, err)
	}
	if err := CheckSubject(b.Subject); err != nil {
		return Person{}, fmt.Errorf("identity: %s: %w", PersonHeader, err)
	}
	p := Person{Subject: b.Subject}
	for _, r := range b.Roles {
		if !r.Known() {
			return Person{}, fmt.Errorf("identity: %s: unknown role %q", PersonHeader, r)
		}
		if !p.Has(r) {
			p.Roles = append(p.Roles, r)
		}
	}
	return p, nil
}

type onBehalf struct {
	Subject string `json:"sub"`
	Roles   []Role `json:"roles,omitempty"`
}
