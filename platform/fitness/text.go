package fitness

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// WriteText writes r for people: a line an effect, then its examples.
func (r Report) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "module %s: live schema %s, shadow schema %s, effects since %s\n",
		r.Module, r.Live, r.Shadow, r.Since.Format(time.RFC3339))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EFFECT\tAGREE\tDIFFER\tLIVE ONLY\tSHADOW ONLY")
	for _, e := range r.Effects {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", e.Name, e.Agree, len(e.Differ), len(e.LiveOnly), len(e.ShadowOnly))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, e := range r.Effects {
		for _, d := range e.Examples {
			fmt.Fprintf(w, "\n%s %s\n  live:   %s\n  shadow: %s\n", e.Name, d.Key, orNone(d.Live), orNone(d.Shadow))
		}
	}
	if r.Agrees() {
		_, err := fmt.Fprintln(w, "\nevery effect agrees")
		return err
	}
	return nil
}

func orNone(v string) string {
	if v == "" {
		return "(none)"
	}
	return v
}
