/**
 * `-t/--test`: the reference loader's self-test, made stricter. Each sample line is parsed and
 * encoded by the production code, compared with bytes Google's protobuf produced (SPEC.md's
 * golden vector and real tracker lines), then decoded by protobufjs from appsinstalled.proto.
 */
import protobuf from 'protobufjs';
import { packagePath } from '../package-file.js';
import { encodeUserApps } from '../proto/user-apps.js';
import { parseLineString } from '../record/parse-line.js';
import type { Logger } from '../report/logger.js';

const SAMPLES: readonly (readonly [line: string, hex: string])[] = [
  ['idfa\t1rfw452y52g2gq4g\t55.55\t42.42\t1423,43,567,3,7,23', '088f0b082b08b704080308070817116666666666c64b4019f6285c8fc2354540'],
  [
    'dvid\t94584df26efb6afd43b30609328f3d75\t165.364801883\t-67.9991374849\t4046,5305,7503,1192,1354,4875,6216,529,4067,7003,8900,3945,9099,9054,9322,173,739,3807,5133,8353,4358,2781,6015,5538',
    '08ce1f08b92908cf3a08a80908ca0a088b2608c83008910408e31f08db3608c44508e91e088b4708de4608ea4808ad0108e30508df1d088d2808a14108862208dd1508ff2e08a22b1123a0ff74acab6440199b7659def1ff50c0',
  ],
  [
    'adid\t5b1c349e45b833b71f13bd9a9c49d45f\t-97.0491655103\t64.3876081109\t3697,3153,7064,9271,9777,4174,4403,6972,9091,3279,6000,5148,543,1584,6825,8455,7413,7463,1994,576,5627,3281,3065,3564,2646,6281,9495,2284,4607,2346,9504,1645',
    '08f11c08d11808983708b74808b14c08ce2008b32208bc3608834708cf1908f02e089c28089f0408b00c08a93508874208f53908a73a08ca0f08c00408fb2b08d11908f91708ec1b08d61408893108974a08ec1108ff2308aa1208a04a08ed0c1119b51887254358c019b6fe3f92ce185040',
  ],
];

export const PROTO_PATH = packagePath('appsinstalled.proto');

export async function runSelfTest(logger: Logger): Promise<boolean> {
  const UserApps = (await protobuf.load(PROTO_PATH)).lookupType('UserApps');
  let ok = true;
  for (const [line, golden] of SAMPLES) {
    const key = line.split('\t', 2).join(':');
    const parsed = parseLineString(line);
    if (typeof parsed === 'string') {
      logger.log('error', `self-test: ${key}: the sample line was rejected (${parsed})`);
      ok = false;
      continue;
    }
    const bytes = encodeUserApps(parsed);
    const hex = Buffer.from(bytes).toString('hex');
    const decoded = UserApps.toObject(UserApps.decode(bytes)) as { apps?: number[]; lat?: number; lon?: number };
    const sameMessage =
      JSON.stringify(decoded.apps ?? []) === JSON.stringify(parsed.apps) &&
      Object.is(decoded.lat, parsed.lat) &&
      Object.is(decoded.lon, parsed.lon);
    if (hex !== golden) {
      logger.log('error', `self-test: ${key}: encoded ${hex}, expected ${golden}`);
      ok = false;
    } else if (!sameMessage) {
      logger.log('error', `self-test: ${key}: protobufjs decodes ${JSON.stringify(decoded)}, expected ${JSON.stringify(parsed)}`);
      ok = false;
    } else {
      logger.log('info', `self-test: ${key}: ok (${bytes.length} bytes, decodes back)`);
    }
  }
  logger.log(ok ? 'info' : 'error', `self-test ${ok ? 'passed' : 'FAILED'}: ${SAMPLES.length} samples`);
  return ok;
}
