package money

import (
	"regexp"
	"testing"
)

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
		{1234, "IQD", "1.234 IQD"},
		{1234, "ZZZ", "12.34 ZZZ"}, // a code stored before it was checked still formats
	} {
		if got := Format(c.minor, c.currency); got != c.want {
			t.Errorf("Format(%d, %s) = %q, want %q", c.minor, c.currency, got, c.want)
		}
	}
}

func TestIsCurrency(t *testing.T) {
	for code, want := range map[string]bool{
		"USD": true, "EUR": true, "JPY": true, "GBP": true, "CHF": true, "CNY": true, "INR": true, "KWD": true,
		// Regional currencies, whose codes start with X like the special ones.
		"XAF": true, "XOF": true, "XPF": true, "XCD": true, "XCG": true,
		// Codes assigned since 2017, which x/text's CLDR 32 tables do not know.
		"VES": true, "VED": true, "SLE": true, "MRU": true, "STN": true, "ZWG": true,

		"usd": false, "Usd": false, "US": false, "USDD": false, "": false, "U$D": false, " USD": false, "USD ": false,
		"ZZZ": false, "AAA": false,
		// No currency, and the code for testing.
		"XXX": false, "XTS": false,
		// Precious metals, bond market units and other units of account.
		"XAU": false, "XAG": false, "XPD": false, "XPT": false, "XBA": false, "XBB": false, "XBC": false, "XBD": false,
		"XDR": false, "XSU": false, "XUA": false,
		// Fund codes: units of account, not money anyone pays with.
		"BOV": false, "CHE": false, "CHW": false, "CLF": false, "COU": false, "MXV": false, "USN": false, "UYI": false, "UYW": false,
		// Withdrawn.
		"DEM": false, "FRF": false, "HRK": false, "VEF": false, "MRO": false, "STD": false, "SLL": false, "ZWL": false,
		"ANG": false, "BGN": false,
	} {
		if got := IsCurrency(code); got != want {
			t.Errorf("IsCurrency(%q) = %v, want %v", code, got, want)
		}
	}
	if !IsCurrency(DefaultCurrency) {
		t.Errorf("the default currency %q is not a currency code", DefaultCurrency)
	}
}

func TestDecimals(t *testing.T) {
	for code, want := range map[string]int{
		"USD": 2, "EUR": 2, "VES": 2,
		"JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "VND": 0, "XOF": 0, "XAF": 0, "XPF": 0, "UGX": 0, "PYG": 0,
		"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
		"ZZZ": 2, "": 2,
	} {
		if got := Decimals(code); got != want {
			t.Errorf("Decimals(%q) = %d, want %d", code, got, want)
		}
	}
}

// The table is where a typo would hide: every entry must be a code of three
// upper-case letters with 0, 2 or 3 minor-unit digits, as every currency in
// circulation has.
func TestTheTable(t *testing.T) {
	code := regexp.MustCompile(`^[A-Z]{3}$`)
	for c, d := range minorUnits {
		if !code.MatchString(c) || (d != 0 && d != 2 && d != 3) {
			t.Errorf("%q: %d decimals", c, d)
		}
	}
	if n := len(minorUnits); n < 150 || n > 190 {
		t.Errorf("%d currencies; the list has about 160", n)
	}
}
