package maglev

// IsPrime reports whether n is a prime number. Trial division by 6k±1 is
// enough for table sizes (at most MaxSize, so at most ~700 divisions).
func IsPrime(n int) bool {
	if n < 2 {
		return false
	}
	if n < 4 {
		return true
	}
	if n%2 == 0 || n%3 == 0 {
		return false
	}
	for d := 5; d <= n/d; d += 6 {
		if n%d == 0 || n%(d+2) == 0 {
			return false
		}
	}
	return true
}

// NextPrime returns the smallest prime >= n (2 for n <= 2).
func NextPrime(n int) int {
	if n <= 2 {
		return 2
	}
	if n%2 == 0 {
		n++
	}
	for !IsPrime(n) {
		n += 2
	}
	return n
}
