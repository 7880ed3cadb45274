/**
 * What a pcapng interface description says about where its packets were captured. `mirrorlens
 * listen` decapsulates each mirror session onto an interface of its own: named for the session
 * (`--session VNI=NAME`, else `vxlan-VNI`, `gwlb-vpce-...`), its description holding the VNI
 * ("VXLAN VNI 4242 ...", "inner VXLAN VNI 4242 ...") and ending "decapsulated by mirrorlens listen".
 */
import type { InterfaceInfo } from './record.js';

export interface InterfacePoint {
  /** The VNI the packets were received on, or -1 (not a listen interface, or no VNI). */
  vni: number;
  /** The capture point name for a listen interface, else ''. */
  point: string;
}

const LISTEN_MARK = 'decapsulated by mirrorlens listen';

export function interfaceContext(i: InterfaceInfo): InterfacePoint {
  const d = i.description ?? '';
  if (!d.includes(LISTEN_MARK)) return { vni: -1, point: '' };
  // The innermost VXLAN VNI when GENEVE carried it, else the VXLAN or plain GENEVE VNI.
  const vx = [...d.matchAll(/VXLAN VNI (\d+)/g)];
  const gv = /GENEVE(?: from [^,;]*)?,?(?: endpoint id [^,]*, attachment id [^,]*,)? VNI (\d+)/.exec(d);
  const vni = vx.length > 0 ? Number(vx[vx.length - 1]![1]) : gv !== null ? Number(gv[1]) : -1;
  return { vni, point: i.name ?? '' };
}
