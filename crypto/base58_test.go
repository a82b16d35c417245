package crypto

import (
	"bytes"
	"math/big"
	"testing"
)

// bigBase58 is the obvious (slow) encoding, to check the fast one against.
func bigBase58(b []byte) string {
	n := new(big.Int).SetBytes(b)
	var out []byte
	mod := new(big.Int)
	for n.Sign() > 0 {
		n.DivMod(n, big.NewInt(58), mod)
		out = append([]byte{base58Alphabet[mod.Int64()]}, out...)
	}
	for _, c := range b {
		if c != 0 {
			break
		}
		out = append([]byte{'1'}, out...)
	}
	return string(out)
}

func TestBase58AgainstBigInt(t *testing.T) {
	cases := [][]byte{{}, {0}, {0, 0, 1}, {255}, {0, 255, 255}, bytes.Repeat([]byte{0xab}, 38), append([]byte{0, 0x24}, bytes.Repeat([]byte{7}, 36)...)}
	for i := range 300 {
		b := make([]byte, i%60)
		for j := range b {
			b[j] = byte(i*31 + j*7)
		}
		cases = append(cases, b)
	}
	for _, b := range cases {
		got, want := base58Encode(b), bigBase58(b)
		if got != want {
			t.Fatalf("base58Encode(%x): got %q, want %q", b, got, want)
		}
		if len(b) == 0 {
			continue
		}
		back, err := base58Decode(got)
		if err != nil || !bytes.Equal(back, b) {
			t.Fatalf("base58Decode(%q): got %x, %v; want %x", got, back, err, b)
		}
	}
}

func FuzzBase58(f *testing.F) {
	f.Add([]byte{0, 0x24, 8, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := base58Encode(b)
		if s != bigBase58(b) {
			t.Fatalf("base58Encode(%x) = %q, want %q", b, s, bigBase58(b))
		}
		if len(b) == 0 {
			return
		}
		back, err := base58Decode(s)
		if err != nil || !bytes.Equal(back, b) {
			t.Fatalf("round trip of %x: got %x, %v", b, back, err)
		}
	})
}
