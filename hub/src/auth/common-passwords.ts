/**
 * Passwords guessing tools try first (the head of public breach-frequency lists) and the usual
 * Chinese office choices (pinyin, 1314/520 numerology, unit names). Compared case-insensitively,
 * also after stripping trailing digits and punctuation (password-policy.ts), so entries here are
 * stems as well as whole passwords. Short entries still matter as stems: `admin` refuses
 * `Admin@123456`.
 */
export const COMMON_PASSWORDS: readonly string[] = [
  // international head of the lists
  '123456789012', '1234567890', '12345678910', '111111111111', '000000000000', '123123123123', '123456123456',
  'password', 'passw0rd', 'p@ssw0rd', 'p@ssword', 'pass', 'password1', 'qwerty', 'qwertyuiop', 'qwerty123456', 'qwe123',
  'asdfghjkl', 'zxcvbnm', '1qaz2wsx', '1q2w3e4r', '1q2w3e4r5t6y', 'zaq12wsx', 'abc', 'abcd', 'abcdef', 'abc123', 'abcd1234',
  'letmein', 'welcome', 'welcome1', 'iloveyou', 'monkey', 'dragon', 'football', 'baseball', 'master', 'sunshine', 'princess',
  'shadow', 'superman', 'batman', 'trustno1', 'starwars', 'whatever', 'freedom', 'computer', 'internet', 'secret', 'changeme',
  'default', 'admin', 'administrator', 'root', 'toor', 'user', 'guest', 'test', 'tester', 'testing', 'demo', 'system', 'manager',
  'login', 'access', 'server', 'oracle', 'mysql', 'ubuntu', 'centos', 'linux', 'windows', 'microsoft', 'google', 'apple',
  // Chinese habits
  'woaini', 'woaini1314', 'woaini520', 'iloveyou1314', 'aini1314', 'wodemima', 'mima', 'mimamima', 'zhangwei', 'wangwei',
  'liwei', 'wangfang', 'zhangjie', 'liuyang', 'chenjie', 'yangyang', 'huangwei', 'zhongguo', 'china', 'beijing', 'shanghai',
  'guangxi', 'hechi', 'nanning', 'guilin', 'liuzhou', 'yizhou', 'jingcha', 'jiaojing', 'gongan', 'police', 'jiaotong',
  'chejiaguan', 'cheguansuo', 'jiashizheng', 'jianguan', 'jianguan123', 'zhidui', 'dadui', 'danwei', 'bangong', 'office',
  'qq123456', 'aa123456', 'a123456', 'a1234567', 'a12345678', 'aaaaaa', 'asd123', 'asdasd', 'qweqwe', 'zxc123', 'zxczxc',
  '147258369', '159357', '7758521', '5201314', '1314520', '88888888', '66666666', '168168', '888888888888', '666666666666',
  'caonima', 'nihao', 'nihaoma', 'xiaoming', 'xiaohong', 'tiantian', 'kuaile', 'xingfu', 'pingan', 'shengri', 'baobao',
  // service defaults
  'huawei', 'h3c', 'ruijie', 'hikvision', 'dahua', 'sangfor', 'topsec', 'venus', 'qianxin', 'tongda', 'seeyon', 'weaver',
];
