// speedref: the gateway fast path's bare work in C, as a yardstick for
// BenchmarkGatewayFastPath on the same machine (docs/performance.md,
// "What this machine can do").
//
// It does what the Go benchmark's packets need and nothing more, with none
// of xdpgw's generality: frames of 1000 established flows, half from the
// Internet to the EIP (verify, flow lookup, DNAT, TTL, GRE encap from a
// template) and half from the tenant (verify outer and inner, GRE key to
// tenant, flow lookup, SNAT, TTL, decap), in batches of 64, each frame
// first copied into its 4096-byte buffer at offset 256 as the Go harness
// does, with per-port and per-EIP counters. The flow table is open
// addressing over 16-byte keys. No firewall (a flow hit passes without the
// rules in xdpgw too), no session timestamps, no capture hook, no ICMP.
//
// The NAT64 mode does the same for established UDP sessions (see nat64
// below).
//
//	cc -O2 -o speedref speedref.c && ./speedref gateway|nat64 [packets]
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FLOWS 1000
#define BATCH 64
#define SLOTS 4096

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static void wr16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = (uint8_t)v; }
static void wr32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = (uint8_t)v; }

static uint16_t csum(const uint8_t *p, int n) {
	uint32_t s = 0;
	for (int i = 0; i + 1 < n; i += 2) s += rd16(p + i);
	while (s >> 16) s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

// RFC 1624 incremental update for a 32-bit field.
static uint16_t upd32(uint16_t c, uint32_t old, uint32_t new) {
	uint32_t s = (uint16_t)~c + (uint16_t)~(old >> 16) + (uint16_t)~(old & 0xffff) + (new >> 16) + (new & 0xffff);
	while (s >> 16) s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}
static uint16_t upd16(uint16_t c, uint16_t old, uint16_t new) {
	uint32_t s = (uint16_t)~c + (uint16_t)~old + new;
	while (s >> 16) s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

struct key { uint32_t src, dst; uint16_t sport, dport, zone; uint8_t proto, pad; };
struct flow { struct key k; uint32_t rewrite; uint32_t eip; uint8_t kind, used; };
static struct flow table[SLOTS];

static uint64_t khash(const struct key *k) {
	uint64_t a, b;
	memcpy(&a, k, 8);
	memcpy(&b, (const uint8_t *)k + 8, 8);
	uint64_t h = (a ^ 0x9e3779b97f4a7c15ull) * 0xbf58476d1ce4e5b9ull;
	h ^= (b + (h >> 29)) * 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}
static struct flow *lookup(const struct key *k) {
	for (uint64_t i = khash(k) & (SLOTS - 1);; i = (i + 1) & (SLOTS - 1)) {
		struct flow *f = &table[i];
		if (!f->used) return NULL;
		if (memcmp(&f->k, k, sizeof *k) == 0) return f;
	}
}
static void insert(const struct key *k, uint32_t rewrite, uint32_t eip, uint8_t kind) {
	uint64_t i = khash(k) & (SLOTS - 1);
	while (table[i].used) i = (i + 1) & (SLOTS - 1);
	table[i] = (struct flow){*k, rewrite, eip, kind, 1};
}

static const uint8_t macInet[6] = {2, 0, 0, 0, 1, 1}, macUnder[6] = {2, 0, 0, 0, 1, 2};
static const uint8_t macClient[6] = {2, 0, 0, 0, 2, 7}, macHost[6] = {2, 0, 0, 0, 3, 11};
static const uint32_t EIP = 0x0202020b, PRIV = 0x0a000007, GW = 0xaca80001, HOST = 0xaca8000b;
static uint64_t rxPkts[2], rxBytes[2], txPkts[2], txBytes[2], eipIn, eipOut, drops;

static int ipv4ok(const uint8_t *ip, int len) {
	return len >= 20 && ip[0] == 0x45 && rd16(ip + 2) <= len && ip[8] > 1 && csum(ip, 20) == 0 &&
	       (rd16(ip + 6) & 0x3fff) == 0;
}

// nat rewrites the IPv4 address at ip+at (12: source, 16: destination) to
// to, decrements the TTL, and updates the IPv4 and TCP checksums.
static void nat(uint8_t *ip, int at, uint32_t to) {
	uint8_t *l4 = ip + 20;
	uint32_t old = rd32(ip + at);
	wr32(ip + at, to);
	wr16(ip + 10, upd32(rd16(ip + 10), old, to));
	wr16(l4 + 16, upd32(rd16(l4 + 16), old, to));
	uint16_t ttl = rd16(ip + 8);
	ip[8]--;
	wr16(ip + 10, upd16(rd16(ip + 10), ttl, rd16(ip + 8)));
}

// From the Internet: Eth | IPv4 | TCP -> Eth | IPv4 | GRE(key) | IPv4 | TCP.
static int fromInternet(uint8_t *buf, int *off, int *len) {
	uint8_t *f = buf + *off;
	if (memcmp(f, macInet, 6) != 0 || rd16(f + 12) != 0x0800) return -1;
	uint8_t *ip = f + 14;
	if (!ipv4ok(ip, *len - 14)) return -1;
	uint8_t *l4 = ip + 20;
	struct key k = {rd32(ip + 12), rd32(ip + 16), rd16(l4), rd16(l4 + 2), 0, ip[9], 0};
	struct flow *fl = lookup(&k);
	if (!fl) return -1;
	nat(ip, 16, fl->rewrite);
	int inner = *len - 14;
	uint8_t *o = ip - 42; // Eth 14 + IPv4 20 + GRE 8
	memcpy(o, macHost, 6);
	memcpy(o + 6, macUnder, 6);
	wr16(o + 12, 0x0800);
	uint8_t *oip = o + 14;
	static const uint8_t tmpl[20] = {0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 47};
	memcpy(oip, tmpl, 20);
	wr16(oip + 2, (uint16_t)(inner + 28));
	wr32(oip + 12, GW);
	wr32(oip + 16, HOST);
	wr16(oip + 10, csum(oip, 20));
	uint8_t *gre = oip + 20;
	wr16(gre, 0x2000);
	wr16(gre + 2, 0x0800);
	wr32(gre + 4, 1000);
	*off -= 28;
	*len += 28;
	eipIn++;
	return 1;
}

// From the tenant: Eth | IPv4 | GRE(key) | IPv4 | TCP -> Eth | IPv4 | TCP.
static int fromTenant(uint8_t *buf, int *off, int *len) {
	uint8_t *f = buf + *off;
	if (memcmp(f, macUnder, 6) != 0 || rd16(f + 12) != 0x0800) return -1;
	uint8_t *oip = f + 14;
	if (!ipv4ok(oip, *len - 14) || oip[9] != 47) return -1;
	uint8_t *gre = oip + 20;
	if (rd16(gre) != 0x2000 || rd16(gre + 2) != 0x0800) return -1;
	uint32_t key = rd32(gre + 4);
	if (key != 1000) return -1;
	uint8_t *ip = gre + 8;
	if (!ipv4ok(ip, *len - 42)) return -1;
	uint8_t *l4 = ip + 20;
	struct key k = {rd32(ip + 12), rd32(ip + 16), rd16(l4), rd16(l4 + 2), 1, ip[9], 0};
	struct flow *fl = lookup(&k);
	if (!fl) return -1;
	nat(ip, 12, fl->rewrite);
	uint8_t *e = ip - 14;
	memcpy(e, macClient, 6);
	memcpy(e + 6, macInet, 6);
	wr16(e + 12, 0x0800);
	*off += 28;
	*len -= 28;
	eipOut++;
	return 0;
}


// NAT64 (RFC 7915 + RFC 6146, established UDP sessions): half the frames
// from the IPv6 client (Eth | IPv6 | UDP -> Eth | IPv4 | UDP: session
// lookup by the client's 5-tuple, header rebuilt, UDP checksum adjusted for
// the pseudo-header and port), half from the IPv4 server (the reverse).
struct skey6 { uint8_t src[16]; uint32_t dst; uint16_t sport, dport; };
struct skey4 { uint32_t src, dst; uint16_t sport, dport; };
struct sess { struct skey6 k6; struct skey4 k4; uint8_t used6, used4; };
static struct sess stab6[SLOTS], stab4[SLOTS];
static const uint8_t macV6[6] = {2, 0, 0, 0, 4, 1}, macV4[6] = {2, 0, 0, 0, 4, 2};
static const uint8_t macC6[6] = {2, 0, 0, 0, 5, 7}, macSrv[6] = {2, 0, 0, 0, 6, 7};
static const uint8_t pref[12] = {0, 0x64, 0xff, 0x9b};
static const uint32_t POOL = 0xc6336401;
static uint16_t ipid;

static uint64_t hash6(const struct skey6 *k) {
	uint64_t a, b, c;
	memcpy(&a, k->src, 8), memcpy(&b, k->src + 8, 8), memcpy(&c, &k->dst, 8);
	uint64_t h = (a ^ 0x9e3779b97f4a7c15ull) * 0xbf58476d1ce4e5b9ull;
	h ^= (b + (h >> 29)) * 0x94d049bb133111ebull;
	h ^= (c + (h >> 31)) * 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 31);
}
static uint64_t hash4(const struct skey4 *k) {
	uint64_t a, b;
	memcpy(&a, k, 8), memcpy(&b, (const uint8_t *)k + 8, 4), b &= 0xffffffff;
	uint64_t h = (a ^ 0x9e3779b97f4a7c15ull) * 0xbf58476d1ce4e5b9ull;
	h ^= (b + (h >> 29)) * 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}
static struct sess *find6(const struct skey6 *k) {
	for (uint64_t i = hash6(k) & (SLOTS - 1);; i = (i + 1) & (SLOTS - 1)) {
		if (!stab6[i].used6) return NULL;
		if (memcmp(&stab6[i].k6, k, sizeof *k) == 0) return &stab6[i];
	}
}
static struct sess *find4(const struct skey4 *k) {
	for (uint64_t i = hash4(k) & (SLOTS - 1);; i = (i + 1) & (SLOTS - 1)) {
		if (!stab4[i].used4) return NULL;
		if (memcmp(&stab4[i].k4, k, sizeof *k) == 0) return &stab4[i];
	}
}
static uint32_t sum(const uint8_t *p, int n) {
	uint32_t s = 0;
	for (int i = 0; i < n; i += 2) s += rd16(p + i);
	return s;
}
static uint16_t fold(uint32_t s) {
	while (s >> 16) s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static int from6(uint8_t *buf, int *off, int *len) {
	uint8_t *f = buf + *off;
	if (memcmp(f, macV6, 6) != 0 || rd16(f + 12) != 0x86dd) return -1;
	uint8_t *ip = f + 14;
	int plen = rd16(ip + 4);
	if ((ip[0] >> 4) != 6 || 40 + plen > *len - 14 || ip[6] != 17 || ip[7] <= 1 || memcmp(ip + 24, pref, 12) != 0)
		return -1;
	uint8_t *u = ip + 40;
	struct skey6 k;
	memcpy(k.src, ip + 8, 16), k.dst = rd32(ip + 36), k.sport = rd16(u), k.dport = rd16(u + 2);
	struct sess *s = find6(&k);
	if (!s) return -1;
	// UDP checksum: the pseudo-header's addresses and the source port change.
	uint32_t c = (uint16_t)~rd16(u + 6);
	c += (uint16_t)~fold(sum(ip + 8, 32)) + (uint16_t)~k.sport;
	c += (s->k4.dst >> 16) + (s->k4.dst & 0xffff) + (s->k4.src >> 16) + (s->k4.src & 0xffff) + s->k4.dport;
	uint16_t uc = (uint16_t)~fold(c);
	wr16(u, s->k4.dport);
	wr16(u + 6, uc ? uc : 0xffff);
	uint8_t tc = (uint8_t)(rd16(ip) >> 4), hl = ip[7];
	uint8_t *o = ip + 20; // the IPv4 header ends where the IPv6 one did
	o[0] = 0x45, o[1] = tc, wr16(o + 2, (uint16_t)(20 + plen)), wr16(o + 4, ipid++), wr16(o + 6, 0x4000);
	o[8] = hl - 1, o[9] = 17, wr16(o + 10, 0), wr32(o + 12, s->k4.dst), wr32(o + 16, s->k4.src);
	wr16(o + 10, csum(o, 20));
	uint8_t *e = o - 14;
	memcpy(e, macSrv, 6), memcpy(e + 6, macV4, 6), wr16(e + 12, 0x0800);
	*off += 20, *len -= 20;
	return 1;
}

static int from4(uint8_t *buf, int *off, int *len) {
	uint8_t *f = buf + *off;
	if (memcmp(f, macV4, 6) != 0 || rd16(f + 12) != 0x0800) return -1;
	uint8_t *ip = f + 14;
	if (!ipv4ok(ip, *len - 14) || ip[9] != 17) return -1;
	uint8_t *u = ip + 20;
	struct skey4 k = {rd32(ip + 12), rd32(ip + 16), rd16(u), rd16(u + 2)};
	struct sess *s = find4(&k);
	if (!s) return -1;
	int plen = rd16(ip + 2) - 20;
	uint8_t tos = ip[1], ttl = ip[8];
	uint8_t *o = ip - 20;
	o[0] = 0x60 | tos >> 4, o[1] = (uint8_t)(tos << 4), o[2] = 0, o[3] = 0, wr16(o + 4, (uint16_t)plen);
	o[6] = 17, o[7] = ttl - 1;
	memcpy(o + 8, pref, 12), wr32(o + 20, k.src), memcpy(o + 24, s->k6.src, 16);
	uint32_t c = (uint16_t)~rd16(u + 6);
	c += (uint16_t)~(k.src >> 16) + (uint16_t)~(k.src & 0xffff) + (uint16_t)~(k.dst >> 16) + (uint16_t)~(k.dst & 0xffff) + (uint16_t)~k.dport;
	c += sum(o + 8, 32) + s->k6.sport;
	uint16_t uc = (uint16_t)~fold(c);
	wr16(u + 2, s->k6.sport);
	wr16(u + 6, uc ? uc : 0xffff);
	uint8_t *e = o - 14;
	memcpy(e, macC6, 6), memcpy(e + 6, macV6, 6), wr16(e + 12, 0x86dd);
	*off -= 20, *len += 20;
	return 0;
}

static int build64(uint8_t *p, int fromV6, int i) {
	memset(p, 0, 128);
	uint8_t client[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 6};
	client[15] = 7;
	uint16_t x = (uint16_t)(1024 + i), t = (uint16_t)(2000 + i);
	uint32_t srv = 0x0202020b;
	uint8_t pay[18] = {0};
	if (fromV6) {
		memcpy(p, macV6, 6), memcpy(p + 6, macC6, 6), wr16(p + 12, 0x86dd);
		uint8_t *ip = p + 14, *u = ip + 40;
		ip[0] = 0x60, wr16(ip + 4, 26), ip[6] = 17, ip[7] = 64;
		memcpy(ip + 8, client, 16), memcpy(ip + 24, pref, 12), wr32(ip + 36, srv);
		wr16(u, x), wr16(u + 2, 7053), wr16(u + 4, 26), memcpy(u + 8, pay, 18);
		wr16(u + 6, (uint16_t)~fold(sum(ip + 8, 32) + 17 + 26 + sum(u, 26)));
		return 14 + 40 + 26;
	}
	memcpy(p, macV4, 6), memcpy(p + 6, macSrv, 6), wr16(p + 12, 0x0800);
	uint8_t *ip = p + 14, *u = ip + 20;
	ip[0] = 0x45, wr16(ip + 2, 46), ip[8] = 64, ip[9] = 17, wr32(ip + 12, srv), wr32(ip + 16, POOL);
	wr16(ip + 10, csum(ip, 20));
	wr16(u, 7053), wr16(u + 2, t), wr16(u + 4, 26), memcpy(u + 8, pay, 18);
	wr16(u + 6, (uint16_t)~fold(sum(ip + 12, 8) + 17 + 26 + sum(u, 26)));
	return 14 + 20 + 26;
}

static void setup64(uint8_t frames[][128], int *flen, int *fport) {
	for (int i = 0; i < FLOWS; i++) {
		flen[2 * i] = build64(frames[2 * i], 1, i), fport[2 * i] = 0;
		flen[2 * i + 1] = build64(frames[2 * i + 1], 0, i), fport[2 * i + 1] = 1;
		struct sess s = {0};
		s.k6.src[0] = 0x20, s.k6.src[1] = 0x01, s.k6.src[2] = 0x0d, s.k6.src[3] = 0xb8, s.k6.src[5] = 6, s.k6.src[15] = 7;
		s.k6.dst = 0x0202020b, s.k6.sport = (uint16_t)(1024 + i), s.k6.dport = 7053;
		s.k4 = (struct skey4){0x0202020b, POOL, 7053, (uint16_t)(2000 + i)};
		uint64_t h = hash6(&s.k6) & (SLOTS - 1);
		while (stab6[h].used6) h = (h + 1) & (SLOTS - 1);
		stab6[h] = s, stab6[h].used6 = 1;
		h = hash4(&s.k4) & (SLOTS - 1);
		while (stab4[h].used4) h = (h + 1) & (SLOTS - 1);
		stab4[h] = s, stab4[h].used4 = 1;
	}
}

static int build(uint8_t *p, int fromInet, int i) {
	memset(p, 0, 128);
	uint16_t cport = (uint16_t)(1024 + i);
	uint8_t *ip;
	int n;
	if (fromInet) {
		memcpy(p, macInet, 6), memcpy(p + 6, macClient, 6), wr16(p + 12, 0x0800);
		ip = p + 14, n = 14 + 20 + 20 + 18;
	} else {
		memcpy(p, macUnder, 6), memcpy(p + 6, macHost, 6), wr16(p + 12, 0x0800);
		uint8_t *o = p + 14;
		o[0] = 0x45, wr16(o + 2, 20 + 8 + 58), o[8] = 64, o[9] = 47, wr32(o + 12, HOST), wr32(o + 16, GW);
		wr16(o + 10, csum(o, 20));
		wr16(o + 20, 0x2000), wr16(o + 22, 0x0800), wr32(o + 24, 1000);
		ip = o + 28, n = 14 + 28 + 20 + 20 + 18;
	}
	ip[0] = 0x45, wr16(ip + 2, 58), ip[8] = 64, ip[9] = 6;
	uint8_t *l4 = ip + 20;
	if (fromInet) {
		wr32(ip + 12, 0x01010107), wr32(ip + 16, EIP), wr16(l4, cport), wr16(l4 + 2, 22);
	} else {
		wr32(ip + 12, PRIV), wr32(ip + 16, 0x01010107), wr16(l4, 22), wr16(l4 + 2, cport);
	}
	l4[12] = 0x50, l4[13] = 0x10;
	wr16(l4 + 16, (uint16_t)~fold(sum(ip + 12, 8) + 6 + 38 + sum(l4, 38)));
	wr16(ip + 10, csum(ip, 20));
	return n;
}

// verify checks an output frame's checksums in full (IPv4 header, and the
// transport checksum over its pseudo-header): the yardstick must do the
// work right, not only fast. 0: good.
static int verify(const uint8_t *f, int len) {
	const uint8_t *ip = f + 14;
	if (rd16(f + 12) == 0x0800) {
		if (csum(ip, 20) != 0) return 1;
		if (ip[9] == 47) {
			ip += 28;
			if (csum(ip, 20) != 0) return 2;
		}
		int l4len = rd16(ip + 2) - 20;
		uint32_t s = sum(ip + 12, 8) + ip[9] + (uint32_t)l4len + sum(ip + 20, l4len);
		return fold(s) == 0xffff ? 0 : 3;
	}
	int plen = rd16(ip + 4);
	uint32_t s = sum(ip + 8, 32) + ip[6] + (uint32_t)plen + sum(ip + 40, plen);
	return fold(s) == 0xffff && 14 + 40 + plen == len ? 0 : 4;
}

int main(int argc, char **argv) {
	int nat64 = argc > 1 && strcmp(argv[1], "nat64") == 0;
	if (argc > 1 && !nat64 && strcmp(argv[1], "gateway") != 0) {
		fprintf(stderr, "usage: speedref gateway|nat64 [packets]\n");
		return 2;
	}
	long packets = argc > 2 ? atol(argv[2]) : 50000000;
	static uint8_t frames[2 * FLOWS][128];
	static int flen[2 * FLOWS], fport[2 * FLOWS];
	if (nat64) setup64(frames, flen, fport);
	for (int i = 0; i < FLOWS && !nat64; i++) {
		flen[2 * i] = build(frames[2 * i], 1, i), fport[2 * i] = 0;
		flen[2 * i + 1] = build(frames[2 * i + 1], 0, i), fport[2 * i + 1] = 1;
		struct key in = {0x01010107, EIP, (uint16_t)(1024 + i), 22, 0, 6, 0};
		struct key out = {PRIV, 0x01010107, 22, (uint16_t)(1024 + i), 1, 6, 0};
		insert(&in, PRIV, 0, 1);
		insert(&out, EIP, 0, 2);
	}
	static uint8_t bufs[BATCH][4096];
	int off[BATCH], len[BATCH], port[BATCH];
	int next = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long done = 0; done < packets; done += BATCH) {
		for (int i = 0; i < BATCH; i++) {
			memcpy(bufs[i] + 256, frames[next], flen[next]);
			off[i] = 256, len[i] = flen[next], port[i] = fport[next];
			if (++next == 2 * FLOWS) next = 0;
		}
		for (int i = 0; i < BATCH; i++) {
			rxPkts[port[i]]++, rxBytes[port[i]] += len[i];
			int out;
			if (nat64)
				out = port[i] == 0 ? from6(bufs[i], &off[i], &len[i]) : from4(bufs[i], &off[i], &len[i]);
			else
				out = port[i] == 0 ? fromInternet(bufs[i], &off[i], &len[i]) : fromTenant(bufs[i], &off[i], &len[i]);
			if (out < 0) {
				drops++;
				continue;
			}
			txPkts[out]++, txBytes[out] += len[i];
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (int i = 0; i < BATCH; i++) {
		int bad = verify(bufs[i] + off[i], len[i]);
		if (bad != 0) {
			fprintf(stderr, "speedref: output frame %d: bad checksum (%d)\n", i, bad);
			return 1;
		}
	}
	double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
	if (drops != 0 || txPkts[0] + txPkts[1] == 0) {
		fprintf(stderr, "speedref: %llu drops, %llu sent: the frames are wrong\n", (unsigned long long)drops,
			(unsigned long long)(txPkts[0] + txPkts[1]));
		return 1;
	}
	printf("speedref %s: %ld packets, %.1f ns/pkt, %.2f Mpps\n", nat64 ? "nat64" : "gateway", packets, ns / packets,
	       packets / ns * 1e3);
	return 0;
}
