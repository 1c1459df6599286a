// Package money is what every module agrees on about money: an amount is an
// integer count of minor units and its currency an ISO 4217 code, USD unless
// said otherwise. It knows which codes are currencies (currencies.go, the one
// table of them), and formats amounts for people to read. Amounts are never floats anywhere in
// uberservice; Format is only presentation.
package money

import "fmt"

// DefaultCurrency is the currency of whatever is priced or opened without one:
// an account, a product.
const DefaultCurrency = "USD"

// IsCurrency reports whether code is the ISO 4217 code, in upper case, of a
// currency uberservice accepts: one that is legal tender somewhere now. The
// special codes (XXX, XTS, the metals), fund codes and withdrawn codes are
// not; minorUnits says which are and why.
func IsCurrency(code string) bool {
	_, ok := minorUnits[code]
	return ok
}

// Decimals is the number of minor-unit digits of a currency, as ISO 4217
// gives them: 2 for most, 0 for JPY, 3 for KWD. A code that is not a currency
// (one stored before codes were checked, or since withdrawn) gets 2, the most
// common, so that whatever is stored still formats.
func Decimals(currency string) int {
	if d, ok := minorUnits[currency]; ok {
		return d
	}
	return 2
}

// Format writes minor units in major units with the currency's decimals:
// Format(123456, "USD") is "1234.56 USD", Format(500, "JPY") is "500 JPY".
func Format(minor int64, currency string) string {
	d := Decimals(currency)
	if d == 0 {
		return fmt.Sprintf("%d %s", minor, currency)
	}
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	unit := int64(1)
	for range d {
		unit *= 10
	}
	return fmt.Sprintf("%s%d.%0*d %s", sign, minor/unit, d, minor%unit, currency)
}
