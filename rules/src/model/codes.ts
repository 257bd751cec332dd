/**
 * National code tables and the geography of 河池市 (adcode 451200).
 * Names are the official Chinese labels; English glosses are for code readers only.
 */

export interface County {
  adcode: string;
  name: string;
  /** Approximate county seat, WGS84 degrees. Used for the licence-clean schematic map. */
  lon: number;
  lat: number;
}

export const CITY = { adcode: '451200', name: '河池市', lon: 108.06, lat: 24.69 } as const;

export const COUNTIES: readonly County[] = [
  { adcode: '451202', name: '金城江区', lon: 108.04, lat: 24.69 },
  { adcode: '451203', name: '宜州区', lon: 108.65, lat: 24.49 },
  { adcode: '451221', name: '南丹县', lon: 107.54, lat: 24.98 },
  { adcode: '451222', name: '天峨县', lon: 107.17, lat: 25.0 },
  { adcode: '451223', name: '凤山县', lon: 107.04, lat: 24.55 },
  { adcode: '451224', name: '东兰县', lon: 107.37, lat: 24.51 },
  { adcode: '451225', name: '罗城仫佬族自治县', lon: 108.9, lat: 24.78 },
  { adcode: '451226', name: '环江毛南族自治县', lon: 108.26, lat: 24.83 },
  { adcode: '451227', name: '巴马瑶族自治县', lon: 107.26, lat: 24.14 },
  { adcode: '451228', name: '都安瑶族自治县', lon: 108.1, lat: 23.93 },
  { adcode: '451229', name: '大化瑶族自治县', lon: 107.99, lat: 23.74 },
];

export const COUNTY_BY_CODE: ReadonlyMap<string, County> = new Map(COUNTIES.map((c) => [c.adcode, c]));

/** 机动车业务类型 YWLX */
export const VEHICLE_BUSINESS: Readonly<Record<string, string>> = {
  A: '注册登记', B: '转移登记', D: '变更登记', E: '抵押登记', F: '停复驶', G: '注销登记',
  H: '临时入境', I: '转入', J: '校车登记', K: '补换牌证/合格标志', L: '补换登记证书', M: '档案更正',
  N: '被盗抢记录', O: '临时号牌', P: '核发检验合格标志', Q: '委托检验', R: '受托检验', S: '锁定',
  T: '解除监管', U: '转出/注销恢复', V: '变更备案', W: '电子档案补录', X: '大吨小标更正',
};

/** 驾驶证业务类型 */
export const LICENCE_BUSINESS: Readonly<Record<string, string>> = {
  A: '初次申领', B: '增驾', C: '补证换证', F: '满分学习', G: '注销', N: '注销恢复', K: '年度体检',
  T: '延期体检', V: '审验', S: '延期换证', L: '信息变更', H: '档案更正', I: '扣证还证',
};

/** 号牌种类 HPZL */
export const PLATE_TYPES: Readonly<Record<string, string>> = {
  '01': '大型汽车', '02': '小型汽车', '07': '普通摩托车', '08': '轻便摩托车', '13': '低速车',
  '14': '拖拉机', '15': '挂车', '16': '教练汽车', '22': '临时行驶车', '23': '警用汽车',
  '51': '大型新能源', '52': '小型新能源', '99': '其他',
};

/** 准驾车型 ZJCX */
export const LICENCE_CLASSES = [
  'A1', 'A2', 'A3', 'B1', 'B2', 'C1', 'C2', 'C3', 'C4', 'C5', 'C6', 'D', 'E', 'F', 'M', 'N', 'P',
] as const;
