/*
 * bench/buddy.c: a tight C implementation of the same buddy allocator algorithm as
 * src/mm/page_alloc.ts (Linux 6.12 mm/page_alloc.c), the yardstick of `npm run bench`.
 *
 * Same data layout as the engine: struct page as a struct of arrays indexed by PFN (flags, order,
 * zoneid, refcount, next/prev list links), one migratetype per pageblock, and per zone
 * free_area[order] with one intrusive doubly-linked list per migratetype (head/tail PFN, -1 = empty).
 * Same algorithm:
 *  - boot: memblock_free_all() frees each free range ascending, in the largest aligned blocks, split
 *    at pageblocks (split_large_buddy), FPI_TO_TAIL;
 *  - __alloc_pages(): zonelist walk; zone_watermark_fast() at the low watermark (+ lowmem_reserve),
 *    then the slow path at the min watermark; __rmqueue_smallest() takes the list head of the smallest
 *    order >= the request; expand() puts each upper half at the head of the next lower list;
 *  - __free_pages() → __free_one_page(): merge with pfn ^ (1 << order) while the buddy is a free
 *    block of the same order in the same zone (mergeable migratetypes above pageblock_order), then
 *    put the block at the head, or at the tail when buddy_merge_likely() sees a merge one level up.
 * The checks the engine makes too: free_pages_check() before every free (the kernel's free_page_is_bad():
 * a valid PFN, the head of an allocated block, no mappings, refcount 1, the order it was allocated with),
 * so struct page carries a mapcount here as well.
 * Not here: __rmqueue_fallback() (migratetype stealing). The bench workload makes movable requests on
 * a machine whose pageblocks are all MOVABLE, so the engine never falls back either (run.js checks
 * vmstat extfrag == 0), and both must print the same PFN checksum.
 *
 * Input on stdin (written by bench/run.js from a booted machine):
 *   max_pfn MAX_PAGE_ORDER pageblock_order nr_zones
 *   per zone, in zonelist order: id start end wmark_min wmark_low lowmem_reserve
 *   nr_ranges, then per free range: start end
 *   then workloads, one per line: kind(0 = order-0, 1 = mixed) seed fill steps
 * Output per workload: "kind ops seconds checksum boot_checksum"
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define PG_reserved (1u << 0)
#define PG_buddy (1u << 1)
#define PG_head (1u << 2)
#define MIGRATE_MOVABLE 1
#define MIGRATE_PCPTYPES 3
#define MIGRATE_TYPES 6
#define MAXORD 16

struct zone {
	int id, start, end;
	long wmark_min, wmark_low, reserve;
	long nr_free_pages;
	int nr_free[MAXORD];
	int head[MAXORD * MIGRATE_TYPES], tail[MAXORD * MIGRATE_TYPES], count[MAXORD * MIGRATE_TYPES];
};

static int max_pfn, MAX_PAGE_ORDER, NR_PAGE_ORDERS, pageblock_order, nr_zones;
static uint16_t *flags;
static uint8_t *order_, *zoneid, *pb_mt;
static int32_t *next_, *prev_, *refcount, *mapcount;
static struct zone zones[8];
static struct zone *zone_by_id[256];

static inline void add_to_free_list(struct zone *z, int pfn, int order, int mt, int tail)
{
	int li = order * MIGRATE_TYPES + mt;
	int h = z->head[li];
	if (h == -1) {
		next_[pfn] = -1;
		prev_[pfn] = -1;
		z->head[li] = pfn;
		z->tail[li] = pfn;
	} else if (tail) {
		int t = z->tail[li];
		next_[t] = pfn;
		prev_[pfn] = t;
		next_[pfn] = -1;
		z->tail[li] = pfn;
	} else {
		prev_[h] = pfn;
		next_[pfn] = h;
		prev_[pfn] = -1;
		z->head[li] = pfn;
	}
	z->count[li]++;
	z->nr_free[order]++;
}

static inline void del_from_free_list(struct zone *z, int pfn, int order, int mt)
{
	int li = order * MIGRATE_TYPES + mt;
	int n = next_[pfn], p = prev_[pfn];
	if (p == -1)
		z->head[li] = n;
	else
		next_[p] = n;
	if (n == -1)
		z->tail[li] = p;
	else
		prev_[n] = p;
	next_[pfn] = -1;
	prev_[pfn] = -1;
	z->count[li]--;
	z->nr_free[order]--;
}

static inline int page_is_buddy(int pfn, int buddy, int order)
{
	if (buddy < 0 || buddy >= max_pfn)
		return 0;
	if (!(flags[buddy] & PG_buddy))
		return 0;
	if (order_[buddy] != order)
		return 0;
	return zoneid[buddy] == zoneid[pfn];
}

static inline int get_pb_mt(int pfn) { return pb_mt[(unsigned)pfn >> pageblock_order]; }

static void free_one_page(int pfn, struct zone *z, int order, int mt, int to_tail_flag)
{
	int buddy = 0;
	z->nr_free_pages += 1L << order;
	while (order < MAX_PAGE_ORDER) {
		buddy = pfn ^ (1 << order);
		int buddy_mt = mt;
		if (!page_is_buddy(pfn, buddy, order))
			break;
		if (order >= pageblock_order) {
			buddy_mt = get_pb_mt(buddy);
			if (mt != buddy_mt && (mt >= MIGRATE_PCPTYPES || buddy_mt >= MIGRATE_PCPTYPES))
				break;
		}
		del_from_free_list(z, buddy, order, buddy_mt);
		flags[buddy] &= ~PG_buddy;
		if (buddy_mt != mt)
			pb_mt[(unsigned)buddy >> pageblock_order] = mt;
		pfn &= buddy;
		order++;
	}
	order_[pfn] = order;
	flags[pfn] |= PG_buddy;
	int to_tail;
	if (to_tail_flag)
		to_tail = 1;
	else if (order >= MAX_PAGE_ORDER - 1)
		to_tail = 0;
	else { /* buddy_merge_likely() */
		int higher = buddy & pfn;
		to_tail = page_is_buddy(higher, higher ^ (1 << (order + 1)), order + 1);
	}
	add_to_free_list(z, pfn, order, mt, to_tail);
}

/* free_pages_check(): what bad_page() would report, nonzero if freeing this block is a bug */
static inline int free_pages_check(int pfn, int order)
{
	if (pfn < 0 || pfn >= max_pfn || !zone_by_id[zoneid[pfn]])
		return 1;
	unsigned f = flags[pfn];
	if (f & (PG_buddy | PG_reserved) || !(f & PG_head))
		return 2;
	if (mapcount[pfn] > 0 || refcount[pfn] != 1 || order_[pfn] != order)
		return 3;
	return 0;
}

static void free_pages(int pfn, int order)
{
	struct zone *z = zone_by_id[zoneid[pfn]];
	refcount[pfn] = 0;
	flags[pfn] &= ~PG_head;
	order_[pfn] = 0;
	int end = pfn + (1 << order);
	if (order > pageblock_order)
		order = pageblock_order;
	while (pfn != end) {
		free_one_page(pfn, z, order, get_pb_mt(pfn), 0);
		pfn += 1 << order;
	}
}

static inline int rmqueue_smallest(struct zone *z, int order, int mt)
{
	for (int cur = order; cur < NR_PAGE_ORDERS; cur++) {
		int pfn = z->head[cur * MIGRATE_TYPES + mt];
		if (pfn == -1)
			continue;
		del_from_free_list(z, pfn, cur, mt);
		flags[pfn] &= ~PG_buddy;
		int high = cur, size = 1 << cur;
		long nr = size;
		while (high > order) { /* expand() */
			high--;
			size >>= 1;
			int half = pfn + size;
			add_to_free_list(z, half, high, mt, 0);
			order_[half] = high;
			flags[half] |= PG_buddy;
			nr -= size;
		}
		z->nr_free_pages -= nr;
		return pfn;
	}
	return -1;
}

static inline int watermark_ok(struct zone *z, int order, long mark)
{
	long free = z->nr_free_pages;
	if (!order && free > mark + z->reserve)
		return 1;
	if (free - ((1L << order) - 1) <= mark + z->reserve)
		return 0;
	if (!order)
		return 1;
	for (int o = order; o < NR_PAGE_ORDERS; o++) {
		if (!z->nr_free[o])
			continue;
		for (int mt = 0; mt < MIGRATE_PCPTYPES; mt++)
			if (z->head[o * MIGRATE_TYPES + mt] != -1)
				return 1;
	}
	return 0;
}

static int alloc_pages(int order, int mt)
{
	for (int pass = 0; pass < 2; pass++) { /* fast path at low, slow path at min */
		for (int i = 0; i < nr_zones; i++) {
			struct zone *z = &zones[i];
			if (!watermark_ok(z, order, pass ? z->wmark_min : z->wmark_low))
				continue;
			int pfn = rmqueue_smallest(z, order, mt);
			if (pfn != -1) { /* prep_new_page() */
				refcount[pfn] = 1;
				flags[pfn] = (flags[pfn] & ~PG_buddy) | PG_head;
				order_[pfn] = order;
				return pfn;
			}
		}
	}
	return -1;
}

static uint32_t xs; /* xorshift32 */
static inline uint32_t rnd(void)
{
	xs ^= xs << 13;
	xs ^= xs >> 17;
	xs ^= xs << 5;
	return xs;
}

static inline uint32_t fnv(uint32_t h, uint32_t v) { return (h ^ v) * 0x01000193u; }

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static int nranges;
static int *ranges;

static void boot(void)
{
	for (int p = 0; p < max_pfn; p++) {
		flags[p] = 0;
		order_[p] = 0;
		refcount[p] = 0;
		next_[p] = prev_[p] = 0;
	}
	for (int i = 0; i < (max_pfn >> pageblock_order) + 1; i++)
		pb_mt[i] = MIGRATE_MOVABLE;
	for (int i = 0; i < nr_zones; i++) {
		struct zone *z = &zones[i];
		z->nr_free_pages = 0;
		for (int o = 0; o < MAXORD; o++)
			z->nr_free[o] = 0;
		for (int k = 0; k < MAXORD * MIGRATE_TYPES; k++)
			z->head[k] = z->tail[k] = -1, z->count[k] = 0;
	}
	for (int r = 0; r < nranges; r++) { /* __free_pages_memory() */
		int start = ranges[2 * r], end = ranges[2 * r + 1];
		while (start < end) {
			int order = start ? __builtin_ctz(start) : MAX_PAGE_ORDER;
			if (order > MAX_PAGE_ORDER)
				order = MAX_PAGE_ORDER;
			while (start + (1 << order) > end)
				order--;
			struct zone *z = zone_by_id[zoneid[start]];
			int o = order < pageblock_order ? order : pageblock_order;
			for (int p = start; p < start + (1 << order); p += 1 << o)
				free_one_page(p, z, o, get_pb_mt(p), 1);
			start += 1 << order;
		}
	}
}

static uint32_t state_checksum(void)
{
	uint32_t h = 0x811c9dc5u;
	for (int i = 0; i < nr_zones; i++)
		for (int li = 0; li < NR_PAGE_ORDERS * MIGRATE_TYPES; li++)
			for (int p = zones[i].head[li]; p != -1; p = next_[p])
				h = fnv(h, (uint32_t)p);
	return h;
}

int main(void)
{
	if (scanf("%d %d %d %d", &max_pfn, &MAX_PAGE_ORDER, &pageblock_order, &nr_zones) != 4)
		return 2;
	NR_PAGE_ORDERS = MAX_PAGE_ORDER + 1;
	flags = calloc(max_pfn, 2);
	order_ = calloc(max_pfn, 1);
	zoneid = calloc(max_pfn, 1);
	refcount = calloc(max_pfn, 4);
	mapcount = calloc(max_pfn, 4);
	next_ = calloc(max_pfn, 4);
	prev_ = calloc(max_pfn, 4);
	pb_mt = calloc((max_pfn >> pageblock_order) + 1, 1);
	for (int i = 0; i < nr_zones; i++) {
		struct zone *z = &zones[i];
		if (scanf("%d %d %d %ld %ld %ld", &z->id, &z->start, &z->end, &z->wmark_min, &z->wmark_low, &z->reserve) != 6)
			return 2;
		zone_by_id[z->id] = z;
		for (int p = z->start; p < z->end; p++)
			zoneid[p] = z->id;
	}
	if (scanf("%d", &nranges) != 1)
		return 2;
	ranges = malloc(sizeof(int) * 2 * nranges);
	for (int r = 0; r < 2 * nranges; r++)
		if (scanf("%d", &ranges[r]) != 1)
			return 2;
	int kind, fill, steps;
	unsigned seed;
	while (scanf("%d %u %d %d", &kind, &seed, &fill, &steps) == 4) {
		double tb = now();
		boot();
		double boot_s = now() - tb;
		uint32_t boot_sum = state_checksum();
		int cap = fill * 2 + 16;
		int32_t *live = malloc(sizeof(int32_t) * cap);
		uint8_t *lord = malloc(cap);
		int nlive = 0;
		long ops = 0;
		uint32_t h = 0x811c9dc5u;
		xs = seed;
		double t0 = now();
		int total = fill + steps;
		for (int i = 0; i < total; i++) {
			int do_alloc = i < fill || nlive == 0 || ((rnd() & 1) == 0 && nlive < cap);
			if (do_alloc) {
				int order = 0;
				if (kind == 1) {
					uint32_t w = rnd() % 1000;
					order = w < 500 ? 0 : w < 750 ? 1 : w < 875 ? 2 : w < 975 ? 3 : 4 + (int)(rnd() % 6);
				}
				int pfn = alloc_pages(order, MIGRATE_MOVABLE);
				ops++;
				h = fnv(h, (uint32_t)pfn);
				if (pfn < 0)
					continue;
				live[nlive] = pfn;
				lord[nlive++] = order;
			} else {
				int k = rnd() % nlive;
				int pfn = live[k], order = lord[k];
				live[k] = live[--nlive];
				lord[k] = lord[nlive];
				if (free_pages_check(pfn, order)) {
					fprintf(stderr, "bad page state: pfn %d order %d\n", pfn, order);
					return 1;
				}
				free_pages(pfn, order);
				ops++;
			}
		}
		double t = now() - t0;
		printf("%d %ld %.6f %u %u %.6f\n", kind, ops, t, h, boot_sum, boot_s);
		fflush(stdout);
		free(live);
		free(lord);
	}
	return 0;
}
