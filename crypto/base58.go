package crypto

import "errors"

// base58btc, the Bitcoin alphabet used by libp2p peer IDs.
const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

var base58Index = func() (idx [256]int8) {
	for i := range idx {
		idx[i] = -1
	}
	for i := range len(base58Alphabet) {
		idx[base58Alphabet[i]] = int8(i)
	}
	return idx
}()

// base58Encode converts big-endian base 256 to base 58 digit by digit
// (quadratic, but peer IDs are under 50 bytes and it allocates once).
func base58Encode(b []byte) string {
	zeros := 0
	for zeros < len(b) && b[zeros] == 0 {
		zeros++
	}
	// log(256)/log(58) < 1.37
	size := (len(b)-zeros)*137/100 + 1
	digits := make([]byte, size)
	high := size - 1
	for _, c := range b[zeros:] {
		carry := int(c)
		j := size - 1
		for ; j > high || carry != 0; j-- {
			carry += 256 * int(digits[j])
			digits[j] = byte(carry % 58)
			carry /= 58
		}
		high = j
	}
	start := 0
	for start < size && digits[start] == 0 {
		start++
	}
	out := make([]byte, zeros+size-start)
	for i := range zeros {
		out[i] = base58Alphabet[0]
	}
	for i, d := range digits[start:] {
		out[zeros+i] = base58Alphabet[d]
	}
	return string(out)
}

func base58Decode(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("empty base58 string")
	}
	zeros := 0
	for zeros < len(s) && s[zeros] == base58Alphabet[0] {
		zeros++
	}
	// log(58)/log(256) < 0.74
	size := (len(s)-zeros)*74/100 + 1
	bytes := make([]byte, size)
	high := size - 1
	for i := zeros; i < len(s); i++ {
		d := base58Index[s[i]]
		if d < 0 {
			return nil, errors.New("invalid base58 character")
		}
		carry := int(d)
		j := size - 1
		for ; j > high || carry != 0; j-- {
			carry += 58 * int(bytes[j])
			bytes[j] = byte(carry & 0xff)
			carry >>= 8
		}
		high = j
	}
	start := 0
	for start < size && bytes[start] == 0 {
		start++
	}
	return append(make([]byte, zeros, zeros+size-start), bytes[start:]...), nil
}
