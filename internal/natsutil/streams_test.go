package natsutil

import "testing"

func TestToken(t *testing.T) {
	for in, want := range map[string]string{"a.b c/d-e_f9": "a_b_c_d-e_f9", "": "_", "é>*": "___"} {
		if got := Token(in); got != want {
			t.Errorf("Token(%q) = %q, want %q", in, got, want)
		}
	}
}
