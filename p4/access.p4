/* xdpgw NAT64 Access tier for Tofino (TNA).
 *
 * Per packet (background.md, section B):
 *   downstream, IPv6 client -> NAT64 prefix::EIP:
 *     EIP = low 32 bits of the IPv6 destination (RFC 6052, /96)
 *     eip_to_vip[EIP]                 -> VIP, egress port
 *     CRC32(src, dst, sport, dport)   -> index = hash mod MAGLEV_SIZE
 *     maglev[(VIP, index)]            -> destination MAC of one NAT64 server
 *   upstream, IPv4 reply from an EIP to a NAT64 server's source pool:
 *     eip_to_vip[IPv4 source]         -> is an EIP (counted, metered)
 *     pool_route[IPv4 destination]    -> destination MAC and port of the
 *                                        server that owns the pool (LPM)
 *   both directions: TCP SYN without ACK is metered per (EIP, direction);
 *   RED is dropped.
 *
 * Stateless: no connection tracking. Anything that is not access traffic
 * (ARP, ND, BGP, other IPv6 or IPv4) is punted to the switch CPU.
 *
 * Stage plan (README.md): every ingress table is keyed on header fields or
 * on metadata the parser sets, so nat64_prefix, eip_to_vip, syn_meter and
 * pool_route have no dependency on each other and share stage 0; the hash
 * runs in the same stage. The big maglev table, which depends on the VIP
 * and on the index, is moved to egress with the VIP and index bridged,
 * so ingress needs 3 stages and egress 2.
 *
 * The software Access target (dataplane/access) implements exactly this
 * program; p4/p4_test.go checks names, widths and the hash field list
 * against access.p4info.txtpb and p4/testdata/flows.txt. Keep the three in
 * step.
 */

#include <core.p4>
#include <tna.p4>

/* Maglev table size per VIP: a prime. The index computation below
 * (fold_index) is specific to 65537 = 2^16 + 1; another size needs another
 * reduction and MAGLEV_INDEX_BITS to match. */
#define MAGLEV_SIZE 65537
#define MAGLEV_INDEX_BITS 17
#define MAX_VIPS 8
#define EIP_TABLE_SIZE 65536
#define SYN_METER_SIZE 131072
#define POOL_ROUTE_SIZE 1024
#define NAT64_PREFIX_SIZE 16
#define PORT_SMAC_SIZE 512

#define CPU_PORT 64

const bit<16> ETHERTYPE_IPV4 = 0x0800;
const bit<16> ETHERTYPE_IPV6 = 0x86dd;
const bit<8>  PROTO_TCP = 6;
const bit<8>  PROTO_UDP = 17;

const bit<1> DIR_DOWN = 0; /* IPv6 client -> EIP */
const bit<1> DIR_UP   = 1; /* IPv4 EIP -> NAT64 pool */

/* Drop reasons, the index of the drops counter. Keep in step with
 * dataplane/access (DropReason). */
const bit<3> DROP_UNKNOWN_EIP   = 1;
const bit<3> DROP_SYN_RATE      = 2;
const bit<3> DROP_NO_NEXTHOP    = 3;
const bit<3> DROP_NO_POOL_ROUTE = 4;

header ethernet_h {
    bit<48> dst_addr;
    bit<48> src_addr;
    bit<16> ether_type;
}

header ipv4_h {
    bit<4>  version;
    bit<4>  ihl;
    bit<8>  diffserv;
    bit<16> total_len;
    bit<16> identification;
    bit<3>  flags;
    bit<13> frag_offset;
    bit<8>  ttl;
    bit<8>  protocol;
    bit<16> hdr_checksum;
    bit<32> src_addr;
    bit<32> dst_addr;
}

header ipv6_h {
    bit<4>   version;
    bit<8>   traffic_class;
    bit<20>  flow_label;
    bit<16>  payload_len;
    bit<8>   next_hdr;
    bit<8>   hop_limit;
    bit<128> src_addr;
    bit<128> dst_addr;
}

/* The first four bytes of TCP and UDP: the ports. */
header l4_ports_h {
    bit<16> src_port;
    bit<16> dst_port;
}

/* The rest of the fixed TCP header up to the flags. */
header tcp_rest_h {
    bit<32> seq_no;
    bit<32> ack_no;
    bit<4>  data_offset;
    bit<4>  res;
    bit<8>  flags;
}

/* Ingress -> egress: what the egress maglev lookup needs. */
header bridge_h {
    bit<7>                  pad0;
    bit<1>                  maglev;
    bit<32>                 vip;
    bit<7>                  pad1;
    bit<MAGLEV_INDEX_BITS>  index;
}

struct header_t {
    bridge_h   bridge;
    ethernet_h ethernet;
    ipv4_h     ipv4;
    ipv6_h     ipv6;
    l4_ports_h ports;
    tcp_rest_h tcp;
}

struct ig_metadata_t {
    bit<32>                eip;
    bit<1>                 direction;
    bit<1>                 is_syn;
    bit<16>                src_port;
    bit<16>                dst_port;
    bit<32>                vip;
    bit<1>                 eip_hit;
    bit<1>                 prefix_hit;
    bit<1>                 pool_hit;
    bit<8>                 syn_color;
    bit<32>                hash;
    bit<MAGLEV_INDEX_BITS> index;
    bit<3>                 drop_reason;
}

struct eg_metadata_t {
    bit<32>                vip;
    bit<MAGLEV_INDEX_BITS> index;
    bit<1>                 maglev;
}

/* ------------------------------------------------------------------ */

parser AccessIngressParser(packet_in pkt,
                           out header_t hdr,
                           out ig_metadata_t ig_md,
                           out ingress_intrinsic_metadata_t ig_intr_md) {
    state start {
        pkt.extract(ig_intr_md);
        pkt.advance(PORT_METADATA_SIZE);
        ig_md.eip = 0;
        ig_md.direction = DIR_DOWN;
        ig_md.is_syn = 0;
        ig_md.src_port = 0;
        ig_md.dst_port = 0;
        transition parse_ethernet;
    }

    state parse_ethernet {
        pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.ether_type) {
            ETHERTYPE_IPV4: parse_ipv4;
            ETHERTYPE_IPV6: parse_ipv6;
            default: accept;
        }
    }

    state parse_ipv4 {
        pkt.extract(hdr.ipv4);
        ig_md.eip = hdr.ipv4.src_addr;
        ig_md.direction = DIR_UP;
        /* Only an unfragmented packet or a first fragment has ports. */
        transition select(hdr.ipv4.ihl, hdr.ipv4.frag_offset, hdr.ipv4.protocol) {
            (5, 0, PROTO_TCP): parse_tcp;
            (5, 0, PROTO_UDP): parse_udp;
            default: accept;
        }
    }

    state parse_ipv6 {
        pkt.extract(hdr.ipv6);
        ig_md.eip = hdr.ipv6.dst_addr[31:0];
        ig_md.direction = DIR_DOWN;
        /* Ports only when TCP or UDP follows the fixed header: a packet
         * with extension headers (fragments included) hashes with ports 0,
         * so that all fragments of a datagram reach the same server. */
        transition select(hdr.ipv6.next_hdr) {
            PROTO_TCP: parse_tcp;
            PROTO_UDP: parse_udp;
            default: accept;
        }
    }

    state parse_udp {
        pkt.extract(hdr.ports);
        ig_md.src_port = hdr.ports.src_port;
        ig_md.dst_port = hdr.ports.dst_port;
        transition accept;
    }

    state parse_tcp {
        pkt.extract(hdr.ports);
        ig_md.src_port = hdr.ports.src_port;
        ig_md.dst_port = hdr.ports.dst_port;
        pkt.extract(hdr.tcp);
        /* SYN set, ACK clear: a connection attempt. */
        transition select(hdr.tcp.flags) {
            0x02 &&& 0x12: mark_syn;
            default: accept;
        }
    }

    state mark_syn {
        ig_md.is_syn = 1;
        transition accept;
    }
}

control AccessIngress(inout header_t hdr,
                      inout ig_metadata_t ig_md,
                      in ingress_intrinsic_metadata_t ig_intr_md,
                      in ingress_intrinsic_metadata_from_parser_t ig_prsr_md,
                      inout ingress_intrinsic_metadata_for_deparser_t ig_dprsr_md,
                      inout ingress_intrinsic_metadata_for_tm_t ig_tm_md) {

    DirectCounter<bit<64>>(CounterType_t.PACKETS_AND_BYTES) eip_packets;
    DirectCounter<bit<64>>(CounterType_t.PACKETS) syn_packets;
    DirectMeter(MeterType_t.PACKETS) syn_rate;
    Counter<bit<64>, bit<3>>(8, CounterType_t.PACKETS) drops;

    /* The flow hash: CRC32 over the concatenation, in this order, of the
     * source address, destination address, source port, destination
     * port. p4_test.go reads this list. */
    Hash<bit<32>>(HashAlgorithm_t.CRC32) flow_hash;

    action nat64_hit() {
        ig_md.prefix_hit = 1;
    }

    /* The NAT64 /96 prefixes this Access announces. */
    table nat64_prefix {
        key = {
            hdr.ipv6.dst_addr[127:32] : exact @name("prefix");
        }
        actions = {
            nat64_hit;
            @defaultonly NoAction;
        }
        const default_action = NoAction;
        size = NAT64_PREFIX_SIZE;
    }

    action set_vip(bit<32> vip, PortId_t port) {
        ig_md.vip = vip;
        ig_md.eip_hit = 1;
        ig_tm_md.ucast_egress_port = port;
        eip_packets.count();
    }

    action eip_miss() {
        ig_md.eip_hit = 0;
    }

    /* EIP -> VIP of the NAT64 cluster that serves it, and the port
     * towards that cluster. */
    table eip_to_vip {
        key = {
            ig_md.eip : exact @name("eip");
        }
        actions = {
            set_vip;
            @defaultonly eip_miss;
        }
        const default_action = eip_miss;
        counters = eip_packets;
        size = EIP_TABLE_SIZE;
    }

    action syn_check() {
        ig_md.syn_color = syn_rate.execute();
        syn_packets.count();
    }

    /* Per (EIP, direction) SYN meter: applied to SYN-without-ACK only;
     * the default rate the control plane writes is 50,000 packets/s. */
    table syn_meter {
        key = {
            ig_md.eip       : exact @name("eip");
            ig_md.direction : exact @name("direction");
        }
        actions = {
            syn_check;
            @defaultonly NoAction;
        }
        const default_action = NoAction;
        meters = syn_rate;
        counters = syn_packets;
        size = SYN_METER_SIZE;
    }

    action set_pool_nexthop(bit<48> dmac, PortId_t port) {
        ig_md.pool_hit = 1;
        hdr.ethernet.dst_addr = dmac;
        ig_tm_md.ucast_egress_port = port;
    }

    /* A NAT64 server's IPv4 source pool -> that server. */
    table pool_route {
        key = {
            hdr.ipv4.dst_addr : lpm @name("dst");
        }
        actions = {
            set_pool_nexthop;
            @defaultonly NoAction;
        }
        const default_action = NoAction;
        size = POOL_ROUTE_SIZE;
    }

    /* hash mod 65537 without a divider: with h = hi * 2^16 + lo and
     * 2^16 = -1 (mod 65537), h mod 65537 = lo - hi, plus 65537 when
     * negative. */
    action fold_index_ge() {
        ig_md.index = (bit<MAGLEV_INDEX_BITS>)ig_md.hash[15:0] - (bit<MAGLEV_INDEX_BITS>)ig_md.hash[31:16];
    }

    action fold_index_lt() {
        ig_md.index = (bit<MAGLEV_INDEX_BITS>)ig_md.hash[15:0] + MAGLEV_SIZE - (bit<MAGLEV_INDEX_BITS>)ig_md.hash[31:16];
    }

    action punt() {
        ig_tm_md.ucast_egress_port = CPU_PORT;
    }

    action drop(bit<3> reason) {
        ig_dprsr_md.drop_ctl = 1;
        ig_md.drop_reason = reason;
        drops.count(reason);
    }

    apply {
        ig_md.eip_hit = 0;
        ig_md.prefix_hit = 0;
        ig_md.pool_hit = 0;
        ig_md.syn_color = 0;
        ig_md.drop_reason = 0;

        /* Stage 0: independent lookups and the hash. */
        if (hdr.ipv6.isValid()) {
            nat64_prefix.apply();
            ig_md.hash = flow_hash.get({
                hdr.ipv6.src_addr,
                hdr.ipv6.dst_addr,
                ig_md.src_port,
                ig_md.dst_port
            });
        }
        if (hdr.ipv6.isValid() || hdr.ipv4.isValid()) {
            eip_to_vip.apply();
            if (ig_md.is_syn == 1) {
                syn_meter.apply();
            }
        }
        if (hdr.ipv4.isValid()) {
            pool_route.apply();
        }

        /* Stage 1: index fold and the verdict. */
        if (ig_md.hash[15:0] >= ig_md.hash[31:16]) {
            fold_index_ge();
        } else {
            fold_index_lt();
        }

        if (hdr.ipv6.isValid() && ig_md.prefix_hit == 1) {
            if (ig_md.eip_hit == 0) {
                drop(DROP_UNKNOWN_EIP);
            } else if (ig_md.syn_color == MeterColor_t.RED) {
                drop(DROP_SYN_RATE);
            } else {
                hdr.bridge.setValid();
                hdr.bridge.maglev = 1;
                hdr.bridge.vip = ig_md.vip;
                hdr.bridge.index = ig_md.index;
            }
        } else if (hdr.ipv4.isValid() && ig_md.eip_hit == 1) {
            if (ig_md.syn_color == MeterColor_t.RED) {
                drop(DROP_SYN_RATE);
            } else if (ig_md.pool_hit == 0) {
                drop(DROP_NO_POOL_ROUTE);
            } else {
                hdr.bridge.setValid();
                hdr.bridge.maglev = 0;
                hdr.bridge.vip = ig_md.vip;
                hdr.bridge.index = 0;
            }
        } else {
            punt();
        }
    }
}

control AccessIngressDeparser(packet_out pkt,
                              inout header_t hdr,
                              in ig_metadata_t ig_md,
                              in ingress_intrinsic_metadata_for_deparser_t ig_dprsr_md) {
    apply {
        pkt.emit(hdr);
    }
}

/* ------------------------------------------------------------------ */

parser AccessEgressParser(packet_in pkt,
                          out header_t hdr,
                          out eg_metadata_t eg_md,
                          out egress_intrinsic_metadata_t eg_intr_md) {
    state start {
        pkt.extract(eg_intr_md);
        transition select(eg_intr_md.egress_port) {
            CPU_PORT: accept;
            default: parse_bridge;
        }
    }

    state parse_bridge {
        pkt.extract(hdr.bridge);
        eg_md.vip = hdr.bridge.vip;
        eg_md.index = hdr.bridge.index;
        eg_md.maglev = hdr.bridge.maglev;
        pkt.extract(hdr.ethernet);
        transition accept;
    }
}

control AccessEgress(inout header_t hdr,
                     inout eg_metadata_t eg_md,
                     in egress_intrinsic_metadata_t eg_intr_md,
                     in egress_intrinsic_metadata_from_parser_t eg_prsr_md,
                     inout egress_intrinsic_metadata_for_deparser_t eg_dprsr_md,
                     inout egress_intrinsic_metadata_for_output_port_t eg_oport_md) {

    Counter<bit<64>, bit<1>>(1, CounterType_t.PACKETS) maglev_misses;

    action set_nexthop(bit<48> dmac) {
        hdr.ethernet.dst_addr = dmac;
    }

    /* A VIP without next hops has no entries: its traffic is dropped
     * and counted. */
    action maglev_miss() {
        eg_dprsr_md.drop_ctl = 1;
        maglev_misses.count(0);
    }

    /* (VIP, index) -> the NAT64 server's MAC: MAGLEV_SIZE entries per
     * VIP, written by the manager from control/maglev tables. */
    table maglev {
        key = {
            eg_md.vip   : exact @name("vip");
            eg_md.index : exact @name("index");
        }
        actions = {
            set_nexthop;
            @defaultonly maglev_miss;
        }
        const default_action = maglev_miss;
        size = 524296; /* MAGLEV_SIZE * MAX_VIPS */
    }

    action set_smac(bit<48> smac) {
        hdr.ethernet.src_addr = smac;
    }

    /* The source MAC of each output port. */
    table port_smac {
        key = {
            eg_intr_md.egress_port : exact @name("port");
        }
        actions = {
            set_smac;
            @defaultonly NoAction;
        }
        const default_action = NoAction;
        size = PORT_SMAC_SIZE;
    }

    apply {
        hdr.bridge.setInvalid();
        if (eg_md.maglev == 1) {
            maglev.apply();
        }
        port_smac.apply();
    }
}

control AccessEgressDeparser(packet_out pkt,
                             inout header_t hdr,
                             in eg_metadata_t eg_md,
                             in egress_intrinsic_metadata_for_deparser_t eg_dprsr_md) {
    apply {
        pkt.emit(hdr);
    }
}

Pipeline(AccessIngressParser(),
         AccessIngress(),
         AccessIngressDeparser(),
         AccessEgressParser(),
         AccessEgress(),
         AccessEgressDeparser()) pipe;

Switch(pipe) main;
