/** mmlab: an interactive lab for Linux memory management. Named re-exports only. */
export { boot, Machine, MachineSnapshot } from "./api/machine";
export { PageBlock, Freed, ProcFile, CheckReport } from "./api/results";
export type { BootConfig } from "./api/schemas";
export { MmError, type MmErrorCode } from "./errors";
export { display } from "./render/renderable";
export type { View, Block } from "./render/view";
export type { TraceEvent } from "./kernel/trace";
export { replacement, ReplacementRun } from "./api/replacement";
export { Process, Mapping, Access, Translation, AddressSpace, FrameDump, TlbView, VmResult, type AddressLike } from "./api/process";
export { map_kernel_page, unmap_kernel_page } from "./mm/pgtable";
export { KmallocResult, KmemCache, KmemEvent, VmallocArea, KmapResult, KernelLayout, WhereIs, ModuleResult, kmallocCacheFor } from "./api/kmem";
import "./api/numa";
export { SwapInfo, LruView, ReclaimResult, MlockResult } from "./api/swap";
export { Compaction, type ZoneCompaction, type ZoneState, type PageblockState } from "./api/compact";
export { FragmentationReport, FragRecorder, Chart, chart, type FragmentationData, type FragSample, type RecorderOptions } from "./api/frag";
export { Fork, ProcessTree, ProcessList } from "./api/fork";
export { Allocation, HeapState } from "./api/malloc";
export { Dmesg } from "./api/dmesg";
// last: the OOM killer (src/mm/oom_kill.ts) registers its page-allocator hook, and every Process method
// defined above gets run with "current" set (src/api/oom.ts)
export { OomReport, oom_task_context_install } from "./api/oom";
