/**
 * page_group_by_mobility_disabled (mm/page_alloc.c build_all_zonelists, 6.12): a machine with fewer than
 * pageblock_nr_pages × MIGRATE_TYPES present pages does not group pages by mobility — every request is
 * UNMOVABLE, and a fallback always claims the whole pageblock. On 32-bit non-PAE x86 (4 MiB pageblocks)
 * that is 6144 pages: machines up to ~24 MiB.
 */
import { describe, expect, it } from "vitest";
import { boot } from "../../src/index";

describe("mobility grouping off on a small 32-bit PC", () => {
  it("20 MiB x86: the boot log says so; a movable request is served as UNMOVABLE and claims its pageblock", () => {
    const m = boot({ ram: "20MiB" });
    const ms = (m as unknown as { ms: { page_group_by_mobility_disabled: boolean } }).ms;
    expect(ms.page_group_by_mobility_disabled).toBe(true);
    expect(m.dmesg().text).toMatch(/^Built 1 zonelists, mobility grouping off\.  Total pages: \d+$/m);
    const b = m.allocPages(0, "GFP_HIGHUSER_MOVABLE");
    expect(b.migratetype).toBe("Unmovable");
    // the first allocation fell back from the MOVABLE lists and took the whole pageblock (UNMOVABLE now)
    expect(m.cat("/proc/pagetypeinfo").text).toMatch(/Number of blocks type\s+Unmovable[\s\S]*Node 0, zone\s+Normal\s+[1-9]/);
    m.check();
  });
  it("32 MiB x86 and 20 MiB PAE (2 MiB pageblocks) keep it on", () => {
    for (const cfg of [{ ram: "32MiB" }, { arch: "x86_pae" as const, ram: "20MiB" }]) {
      const m = boot(cfg);
      expect((m as unknown as { ms: { page_group_by_mobility_disabled: boolean } }).ms.page_group_by_mobility_disabled).toBe(false);
      expect(m.dmesg().text).toMatch(/mobility grouping on\./);
      expect(m.allocPages(0, "GFP_HIGHUSER_MOVABLE").migratetype).toBe("Movable");
    }
  });
});
