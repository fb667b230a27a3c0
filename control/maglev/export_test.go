package maglev

// Permutation exposes a backend's (offset, skip) to the tests' reference
// implementation.
func Permutation(name string, m int) (offset, skip int) {
	o, s := permutation(name, uint32(m))
	return int(o), int(s)
}
