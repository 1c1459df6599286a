package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// deadLetterLimit is how many dead letters of a module the page lists: the
// newest, as /ops/dead-letters orders them.
const deadLetterLimit = 50

// deadLetter is a failed message as the page lists it, from a module's
// GET /ops/dead-letters.
type deadLetter struct {
	Module    string    `json:"-"`
	ID        int64     `json:"id"`
	Topic     string    `json:"topic"`
	Status    string    `json:"status"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Time is when the message last failed, for the page.
func (d deadLetter) Time() string { return d.UpdatedAt.UTC().Format("2006-01-02 15:04:05Z") }

// deadLetters lists the dead letters of every module that consumes and
// runs somewhere known, with the operator's own token, newest first; and
// for each module that could not be asked, why.
func (c *console) deadLetters(ctx context.Context, views []moduleView, token string) ([]deadLetter, []string) {
	var (
		mu       sync.Mutex
		all      []deadLetter
		problems []string
		wg       sync.WaitGroup
	)
	for _, v := range deadLetterSources(views) { // one instance a module: they share its table
		if !v.Database || len(v.Consumes) == 0 || v.URL == "" {
			continue
		}
		wg.Go(func() {
			items, err := c.listDeadLetters(ctx, v.URL, token)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", v.Name, err))
				return
			}
			for _, d := range items {
				d.Module = v.Name
				all = append(all, d)
			}
		})
	}
	wg.Wait()
	slices.SortFunc(all, func(a, b deadLetter) int {
		if c := b.UpdatedAt.Compare(a.UpdatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Module, b.Module)
	})
	slices.Sort(problems)
	return all, problems
}

func (c *console) listDeadLetters(ctx context.Context, base, token string) ([]deadLetter, error) {
	ctx, cancel := context.WithTimeout(ctx, lookTimeout)
	defer cancel()
	status, body, err := c.get(ctx, base+"/ops/dead-letters?limit="+strconv.Itoa(deadLetterLimit), token)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("dead letters: answered %d: %s", status, clip(string(body), 200))
	}
	var page struct {
		Items []deadLetter `json:"items"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, fmt.Errorf("dead letters: %w", err)
	}
	return page.Items, nil
}

// errNoDeadLetter is the answer of a module that has no such dead letter.
var errNoDeadLetter = errors.New("no such dead letter")

// replay asks the module at base to replay its dead letter id with the
// operator's token. A handler that fails again leaves it dead, and the
// module answers 409 with why.
func (c *console) replay(ctx context.Context, base string, id int64, token string) error {
	ctx, cancel := context.WithTimeout(ctx, replayTimeout)
	defer cancel()
	status, body, err := c.do(ctx, http.MethodPost, fmt.Sprintf("%s/ops/dead-letters/%d/replay", base, id), token)
	switch {
	case err != nil:
		return err
	case status == http.StatusOK:
		return nil
	case status == http.StatusNotFound:
		return errNoDeadLetter
	}
	var p struct {
		Detail string `json:"detail"`
		Title  string `json:"title"`
	}
	if json.Unmarshal(body, &p) == nil && (p.Detail != "" || p.Title != "") {
		return &replayError{status: status, why: strings.TrimSpace(p.Title + ": " + p.Detail)}
	}
	return &replayError{status: status, why: clip(string(body), 300)}
}

// replayTimeout bounds a replay: the handler runs once more, in the request.
const replayTimeout = 10 * time.Second

// replayError is a module's refusal of a replay.
type replayError struct {
	status int
	why    string
}

func (e *replayError) Error() string {
	return fmt.Sprintf("the module answered %d: %s", e.status, e.why)
}
