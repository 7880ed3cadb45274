/**
 * The AWS Traffic Mirror filter rules (the same file `listen --filter` takes) applied while
 * analyzing a capture: rules are evaluated on the mirrored packet, i.e. on the frame inside the
 * innermost VXLAN/GENEVE header when the capture holds the encapsulated stream, and on the frame
 * itself for a decapsulated capture (direction from the epb_flags `listen` writes).
 */
import { MirrorFrameFilter } from './listen-classify.js';
import { loadMirrorFilter } from './filter.js';
import type { PacketRecord } from './record.js';
import { Layer } from '../wire/layer.js';
import { LinkType } from '../wire/link.js';
import type { PacketDecoder } from '../wire/packet.js';

export function mirrorFilterPredicate(path: string): (rec: PacketRecord, pkt: PacketDecoder) => boolean {
  const f = new MirrorFrameFilter(loadMirrorFilter(path));
  return (rec, pkt) => {
    let off = rec.offset;
    let lt = rec.linkType;
    if (pkt.tunnelDepth > 0) {
      let i = pkt.layerCount - 1;
      while (i >= 0 && pkt.layerType[i] !== Layer.Vxlan && pkt.layerType[i] !== Layer.Geneve) i--;
      if (i >= 0 && i + 1 < pkt.layerCount) {
        off = pkt.layerOffset[i + 1]!;
        const t = pkt.layerType[i + 1];
        lt = t === Layer.Ethernet ? LinkType.Ethernet : t === Layer.Ipv4 ? LinkType.Ipv4 : t === Layer.Ipv6 ? LinkType.Ipv6 : lt;
      }
    }
    return f.keeps(lt, rec.data, off, rec.offset + rec.capturedLength - off, rec.flags);
  };
}
