package topics

import "testing"

// Every invalid query names line:col inside the query and what was
// expected there (topic files: testdata/files/errors.golden).
func TestInvalidQueriesCarryLineAndColumn(t *testing.T) {
	cases := []struct{ q, want string }{
		{`(ceasefire OR truce`, `1:20: expected ")" to close the "(" at column 1, found end of query`},
		{`ceasefire)`, `1:10: expected an operator or end of query, found ")"`},
		{`"peace talks`, `1:13: expected a closing quote for the phrase at column 1, found end of query`},
		{`ceasefire AND`, `1:14: expected a term, phrase, "(" or NOT after AND, found end of query`},
		{`title:`, `1:7: expected a term, phrase or "(" after title:, found end of query`},
		{`foo:bar`, `1:1: expected a field (title, text, source or lang) before ":", found "foo:"`},
		{`ne*`, `1:1: expected at least 3 letters before "*", found "ne*"`},
		{`a NEAR/x b`, `1:3: expected NEAR/n with n a number from 0 to 100, found "NEAR/x"`},
		{`ceasefire OR OR truce`, `1:14: expected a term, phrase, "(" or NOT after OR, found OR`},
		{"ceasefire\nAND\n)", `3:1: expected a term, phrase, "(" or NOT after AND, found ")"`},
	}
	for _, c := range cases {
		_, err := ParseQuery(c.q)
		if err == nil {
			t.Errorf("%q accepted", c.q)
			continue
		}
		if err.Error() != c.want {
			t.Errorf("%q:\n got %s\nwant %s", c.q, err, c.want)
		}
	}
}
