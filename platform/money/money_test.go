package money

import "testing"

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		minor    int64
		currency string
		want     string
	}{
		{123456, "USD", "1234.56 USD"},
		{5, "EUR", "0.05 EUR"},
		{-250, "USD", "-2.50 USD"},
		{500, "JPY", "500 JPY"},
		{1234, "KWD", "1.234 KWD"},
	} {
		if got := Format(c.minor, c.currency); got != c.want {
			t.Errorf("Format(%d, %s) = %q, want %q", c.minor, c.currency, got, c.want)
		}
	}
}
