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

func TestIsCurrency(t *testing.T) {
	for code, want := range map[string]bool{
		"USD": true, "EUR": true, "XAU": true,
		"usd": false, "Usd": false, "US": false, "USDD": false, "": false, "U$D": false, " USD": false,
	} {
		if got := IsCurrency(code); got != want {
			t.Errorf("IsCurrency(%q) = %v, want %v", code, got, want)
		}
	}
	if !IsCurrency(DefaultCurrency) {
		t.Errorf("the default currency %q is not a currency code", DefaultCurrency)
	}
}
