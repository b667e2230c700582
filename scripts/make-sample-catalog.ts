/**
 * Builds samples/catalog.jsonl, the synthetic catalog used by the README quick start and demos.
 *
 *   node --import tsx scripts/make-sample-catalog.ts
 *
 * Output is byte-for-byte deterministic (fixed seed, no Date/Math.random), so regenerating after an
 * edit yields a reviewable diff. The demo relies on nearest neighbours landing in the same leaf
 * category, so every leaf has its own nouns, materials, features and use cases; only the sentence
 * templates are shared.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../testkit/random.js';

const SEED = 0x5eed_2024;
const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'samples', 'catalog.jsonl');
// The quick start calls these ids by number, so they are pinned after the shuffle. sku-00001 is
// also the first hit for `search "waterproof hiking boots"`, so it should say "waterproof".
const PINNED: Record<number, { category: string; mustMention?: string }> = {
  0: { category: 'Footwear > Hiking Boots', mustMention: 'waterproof' },
  401: { category: 'Kitchen > Espresso Machines' },
};

const rng = mulberry32(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)] as T;
function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
  }
  return xs;
}
const sample = <T>(xs: readonly T[], k: number): T[] => shuffle([...xs]).slice(0, k);

// Attribute strings are "phrase|tag": the phrase goes into the copy, the tag into `tags`, so tags
// only ever name something the description actually says.
interface Leaf {
  name: string;
  count: number;
  colours: readonly string[];
  nouns: string[];
  mats: string[];
  feats: string[];
  uses: string[];
}
interface Top {
  name: string;
  named: boolean;
  brands: string[];
  leaves: Leaf[];
}
const L = (name: string, count: number, colours: readonly string[], nouns: string[], mats: string[], feats: string[], uses: string[]): Leaf => ({
  name,
  count,
  colours,
  nouns,
  mats,
  feats,
  uses,
});

const APPAREL = ['charcoal', 'olive', 'navy', 'rust', 'black', 'slate grey', 'sand', 'forest green', 'burgundy'];
const TECH = ['matte black', 'silver', 'space grey', 'white', 'midnight blue', 'graphite'];
const HOME = ['oatmeal', 'walnut', 'natural oak', 'charcoal', 'sage green', 'cream', 'dusty blue', 'terracotta'];
const BRIGHT = ['red', 'sunshine yellow', 'ocean blue', 'lime green', 'purple', 'orange', 'teal'];
const NONE: string[] = [];

const CATALOG: Top[] = [
  {
    name: 'Footwear',
    named: true,
    brands: ['Brindlefoot', 'Stonemarch', 'Larkvale', 'Korrun', 'Ashgrove Footwear', 'Tallowick'],
    leaves: [
      L(
        'Hiking Boots',
        26,
        APPAREL,
        ['waterproof hiking boot', 'mid-cut hiking boot', 'rugged hiking boot', 'backpacking boot', 'trekking boot', 'waterproof trail boot'],
        [
          'a full-grain leather upper|leather',
          'a waterproof nubuck upper|nubuck',
          'a suede and abrasion-resistant mesh upper|suede',
          'a seam-sealed leather and synthetic upper|seam-sealed',
        ],
        [
          'a breathable waterproof membrane that keeps feet dry through streams and puddles|waterproof',
          'a padded high collar for ankle support on uneven ground|ankle-support',
          'a deep-lug rubber outsole that grips wet rock and loose scree|lugged-sole',
          'a gusseted tongue that keeps out trail debris|gusseted-tongue',
          'a cushioned midsole for long days on the trail|cushioned',
          'a protective rubber toe cap|toe-cap',
          'speed-lace hooks for a secure, adjustable fit|speed-laces',
        ],
        [
          'muddy trail hikes|hiking',
          'multi-day backpacking trips|backpacking',
          'wet spring hikes and stream crossings|hiking',
          'rocky mountain trails|trail',
          'winter day hikes on slushy paths|winter-hiking',
        ],
      ),
      L(
        'Running Shoes',
        20,
        APPAREL,
        ['road running shoe', 'neutral running shoe', 'lightweight running trainer', 'cushioned daily trainer'],
        ['an engineered knit upper|knit', 'a breathable mesh upper|mesh', 'a seamless woven upper|woven', 'a recycled mesh upper|recycled'],
        [
          'a responsive foam midsole that returns energy with every stride|responsive-foam',
          'an 8 mm heel-to-toe drop for smooth transitions|8mm-drop',
          'a durable rubber outsole in high-wear zones|rubber-outsole',
          'reflective details for early-morning runs|reflective',
          'a padded heel counter for a locked-in fit|heel-counter',
          'a rocker-shaped sole that helps you roll through each step|rocker-sole',
        ],
        [
          'daily training runs|running',
          'tempo sessions and 10K races|racing',
          'long runs on pavement|road-running',
          'treadmill workouts|treadmill',
          'half-marathon training|marathon',
        ],
      ),
      L(
        'Sandals',
        19,
        APPAREL,
        ['sport sandal', 'strappy sandal', 'slide sandal', 'adjustable walking sandal'],
        ['quick-drying webbing straps|webbing', 'soft leather straps|leather', 'vegan leather straps|vegan', 'recycled polyester straps|recycled'],
        [
          'a contoured cork footbed that moulds to your foot|cork-footbed',
          'hook-and-loop straps for a quick adjustable fit|adjustable',
          'a water-friendly rubber sole|water-friendly',
          'a cushioned arch support|arch-support',
          'an open-toe design that keeps feet cool|open-toe',
          'a lightweight foam base|lightweight',
        ],
        [
          'hot summer days|summer',
          'beach trips and poolside lounging|beach',
          'casual city walks in warm weather|casual',
          'river walks and holiday travel|travel',
        ],
      ),
      L(
        'Dress Shoes',
        19,
        ['black', 'dark brown', 'tan', 'oxblood', 'cognac'],
        ['classic oxford', 'derby dress shoe', 'brogue', 'cap-toe oxford'],
        ['polished calfskin leather|calfskin', 'burnished full-grain leather|leather', 'soft suede|suede', 'patent leather|patent-leather'],
        [
          'a stitched welt construction that can be resoled|welted',
          'a leather-lined interior|leather-lined',
          'a stacked leather heel|stacked-heel',
          'a cushioned footbed for all-day wear|cushioned',
          'a slim almond-shaped toe|almond-toe',
          'classic broguing along the toe cap|broguing',
        ],
        ['the office and formal events|formal', 'weddings and black-tie evenings|wedding', 'business meetings|business', 'smart-casual dinners|smart-casual'],
      ),
      L(
        'Slippers',
        18,
        HOME,
        ['house slipper', 'moccasin slipper', 'shearling-lined slipper', 'slip-on slipper'],
        [
          'a wool felt upper|wool',
          'a faux-suede upper with plush fleece lining|fleece',
          'a knit upper with a memory-foam lining|knit',
          'genuine sheepskin|sheepskin',
        ],
        [
          'a memory-foam insole|memory-foam',
          'a non-slip rubber sole for quick trips outside|non-slip',
          'a cosy fleece lining|fleece-lined',
          'a fold-down heel so they slip on easily|slip-on',
          'machine-washable construction|washable',
        ],
        ['lounging at home on cold mornings|indoor', 'chilly winter evenings|winter', 'relaxing after a long day|lounge', 'gifting during the holidays|gift'],
      ),
    ],
  },
  {
    name: 'Outerwear',
    named: true,
    brands: ['Northwake', 'Fernhollow', 'Greyloft', 'Halvard & Co.', 'Tidewell'],
    leaves: [
      L(
        'Rain Jackets',
        20,
        APPAREL,
        ['waterproof rain jacket', 'packable rain shell', 'lightweight rain jacket', 'hooded rain jacket'],
        [
          '2.5-layer waterproof nylon|nylon',
          'recycled ripstop polyester with a waterproof coating|recycled',
          'a 3-layer breathable shell fabric|3-layer',
          'PFC-free water-repellent fabric|pfc-free',
        ],
        [
          'fully taped seams|taped-seams',
          'an adjustable storm hood with a stiffened brim|hood',
          'underarm zips for ventilation|pit-zips',
          'a chest pocket that doubles as a stuff sack|packable',
          'adjustable hook-and-loop cuffs|adjustable-cuffs',
          'a drop-tail hem for extra coverage|drop-tail',
          'water-resistant zips|water-resistant',
        ],
        [
          'rainy commutes|commute',
          'stormy coastal walks|coastal',
          'travel when the forecast is uncertain|travel',
          'drizzly dog walks|dog-walking',
          'festival-season downpours|festival',
        ],
      ),
      L(
        'Down Jackets',
        20,
        APPAREL,
        ['down puffer jacket', 'insulated down jacket', 'quilted puffer', 'hooded down parka'],
        [
          '700-fill responsibly sourced down|down',
          '650-fill goose down|goose-down',
          'recycled down insulation|recycled',
          'water-resistant down inside a ripstop shell|ripstop',
        ],
        [
          'baffled quilting that keeps insulation from shifting|quilted',
          'an insulated hood|hood',
          'fleece-lined zip hand pockets|pockets',
          'elastic cuffs that seal in warmth|elastic-cuffs',
          'a compressible design that packs into its own pocket|packable',
          'a durable water-repellent finish|dwr',
        ],
        ['freezing winter mornings|winter', 'ski trips and après-ski|ski', 'cold city commutes|commute', 'late-autumn evenings outdoors|cold-weather'],
      ),
      L(
        'Fleece Jackets',
        20,
        APPAREL,
        ['full-zip fleece jacket', 'fleece pullover', 'high-pile fleece jacket', 'quarter-zip fleece'],
        ['recycled polyester fleece|recycled', 'soft sherpa fleece|sherpa', 'midweight grid fleece|grid-fleece', 'brushed microfleece|microfleece'],
        [
          'a stand-up collar|collar',
          'zippered chest and hand pockets|pockets',
          'flatlock seams that prevent chafing|flatlock-seams',
          'stretch binding at the cuffs and hem|stretch',
          'nylon overlays on the shoulders for durability|durable',
          'an anti-pill finish|anti-pill',
        ],
        [
          'layering under a shell in cold weather|layering',
          'cool autumn weekends|autumn',
          'everyday wear when it turns chilly|casual',
          'weekend errands|weekend',
        ],
      ),
      L(
        'Wool Coats',
        19,
        ['camel', 'charcoal', 'navy', 'black', 'oatmeal', 'forest green'],
        ['wool overcoat', 'tailored wool coat', 'double-breasted peacoat', 'longline topcoat'],
        ['an Italian wool blend|wool-blend', 'pure merino wool|merino', 'a wool and cashmere blend|cashmere', 'boiled wool|boiled-wool'],
        [
          'a notch lapel|notch-lapel',
          'a fully lined interior|lined',
          'horn-effect buttons|buttons',
          'a single rear vent|vent',
          'deep welt pockets|pockets',
          'a tailored cut that fits over a suit jacket|tailored',
        ],
        ['formal winter occasions|formal', 'the daily office commute|office', 'evenings out in the city|city', 'wearing over suits and knitwear|tailoring'],
      ),
    ],
  },
  {
    name: 'Kitchen',
    named: true,
    brands: ['Copperline', 'Hearthwell', 'Marrow & Mill', 'Saltbox Kitchen', 'Verdello', 'Brightcrest'],
    leaves: [
      L(
        'Espresso Machines',
        26,
        ['brushed stainless steel', 'matte black', 'cream', 'cherry red', 'white'],
        ['espresso machine', 'semi-automatic espresso machine', 'home espresso maker', 'espresso and cappuccino machine', 'compact espresso machine'],
        [
          'a brushed stainless steel housing|stainless-steel',
          'a die-cast aluminium body|aluminium',
          'a fast thermoblock heating system|thermoblock',
          'a dual boiler|dual-boiler',
        ],
        [
          'a 15-bar pump for rich crema|15-bar',
          'a commercial-style 58 mm portafilter|portafilter',
          'a steam wand for silky milk microfoam|steam-wand',
          'a built-in conical burr grinder|built-in-grinder',
          'PID temperature control for consistent extraction|pid',
          'a removable 2-litre water tank|water-tank',
          'a cup-warming tray|cup-warmer',
          'a pressure gauge so you can dial in each shot|pressure-gauge',
        ],
        [
          'lattes and flat whites at home|latte',
          'pulling café-quality espresso shots every morning|espresso',
          'home baristas learning to dial in shots|barista',
          'cappuccinos for the whole household|cappuccino',
        ],
      ),
      L(
        "Chef's Knives",
        20,
        NONE,
        ["chef's knife", 'santoku knife', 'Japanese-style gyuto knife', 'forged kitchen knife'],
        [
          'high-carbon German stainless steel|stainless-steel',
          'a 67-layer Damascus steel blade|damascus',
          'a hardened high-carbon steel core|high-carbon',
          'forged molybdenum-vanadium steel|forged',
        ],
        [
          'a full-tang construction for balance|full-tang',
          'an ergonomic pakkawood handle|pakkawood',
          'a hand-sharpened 15-degree edge|razor-sharp',
          'a bolster that protects your fingers|bolster',
          'a dimpled edge that stops food sticking to the blade|granton-edge',
          'a protective blade guard|blade-guard',
        ],
        [
          'dicing onions and mincing herbs|prep',
          'breaking down whole chickens|butchery',
          'everyday meal prep|everyday',
          'slicing vegetables paper-thin|slicing',
        ],
      ),
      L(
        'Frying Pans',
        20,
        NONE,
        ['frying pan', 'skillet', 'sauté pan', 'fry pan'],
        [
          'tri-ply stainless steel|tri-ply',
          'pre-seasoned cast iron|cast-iron',
          'hard-anodised aluminium with a ceramic nonstick coating|nonstick',
          'carbon steel|carbon-steel',
        ],
        [
          'an oven-safe build up to 260°C|oven-safe',
          'an induction-compatible base|induction',
          'a stay-cool riveted handle|stay-cool-handle',
          'a flared rim for drip-free pouring|flared-rim',
          'even heat distribution across the cooking surface|even-heating',
          'a helper handle for lifting|helper-handle',
        ],
        [
          'searing steaks and crisping potatoes|searing',
          'weeknight stir-fries and omelettes|everyday',
          'frying eggs and pancakes|breakfast',
          'oven-to-table dishes|oven',
        ],
      ),
      L(
        'Blenders',
        19,
        TECH,
        ['high-speed blender', 'countertop blender', 'personal smoothie blender', 'professional blender'],
        ['a 1,500-watt motor|1500w', 'a BPA-free 2-litre jar|bpa-free', 'a tempered glass jug|glass-jar', 'a die-cast metal base|metal-base'],
        [
          'hardened stainless steel blades|stainless-blades',
          'variable speed control with a pulse setting|variable-speed',
          'preset programs for smoothies, soups and frozen desserts|presets',
          'a tamper for thick blends|tamper',
          'a self-cleaning cycle|self-cleaning',
          'two to-go cups|to-go-cups',
        ],
        [
          'morning smoothies and protein shakes|smoothies',
          'hot soups and nut butters|soups',
          'crushing ice for frozen drinks|ice-crushing',
          'meal prep and sauces|meal-prep',
        ],
      ),
    ],
  },
  {
    name: 'Home Furniture',
    named: true,
    brands: ['Oakhaven', 'Linden & Loom', 'Woodruff Studio', 'Harrowgate Home', 'Nordvik Living', 'Plume Interiors'],
    leaves: [
      L(
        'Sofas',
        20,
        HOME,
        ['three-seat sofa', 'sectional sofa', 'loveseat', 'mid-century sofa', 'deep-seat sofa'],
        [
          'performance linen upholstery|linen',
          'stain-resistant velvet upholstery|velvet',
          'top-grain leather upholstery|leather',
          'a boucle fabric cover|boucle',
        ],
        [
          'a kiln-dried hardwood frame|hardwood',
          'feather-wrapped foam cushions|feather-foam',
          'removable, washable cushion covers|washable',
          'solid oak tapered legs|oak-legs',
          'sinuous spring support|spring-support',
          'reversible seat cushions|reversible',
        ],
        [
          'family movie nights|living-room',
          'small apartment living rooms|apartment',
          'lounging and napping on weekends|lounge',
          'entertaining guests|entertaining',
        ],
      ),
      L(
        'Dining Chairs',
        20,
        HOME,
        ['dining chair', 'upholstered dining chair', 'Windsor-style dining chair', 'armless side chair'],
        ['solid beech wood|beech', 'solid walnut|walnut', 'powder-coated steel|steel', 'woven rattan and oak|rattan'],
        [
          'a curved, contoured backrest|contoured',
          'a padded seat|padded',
          'felt floor protectors|floor-protectors',
          'a stackable design|stackable',
          'a set-of-two pack|set-of-2',
          'a spill-resistant seat fabric|spill-resistant',
        ],
        ['everyday family dinners|dining', 'kitchen islands and breakfast nooks|kitchen', 'dinner parties|entertaining', 'open-plan dining rooms|dining-room'],
      ),
      L(
        'Bookcases',
        19,
        HOME,
        ['bookcase', 'five-shelf bookshelf', 'ladder bookshelf', 'modular shelving unit'],
        ['solid pine|pine', 'oak veneer|oak', 'walnut-finish engineered wood|walnut-finish', 'black powder-coated steel and wood|industrial'],
        [
          'adjustable shelves|adjustable',
          'an anti-tip wall anchor kit|anti-tip',
          'shelves that hold up to 25 kg each|sturdy',
          'a closed cabinet base for hidden storage|cabinet',
          'tool-free assembly|easy-assembly',
          'an open back that keeps the look airy|open-back',
        ],
        ['displaying books and plants|display', 'home offices|home-office', "kids' rooms and playrooms|kids-room", 'living room storage|storage'],
      ),
      L(
        'Desks',
        19,
        HOME,
        ['writing desk', 'standing desk', 'computer desk', 'compact home office desk'],
        ['a solid acacia top|acacia', 'a bamboo desktop|bamboo', 'a white oak veneer top|oak', 'a scratch-resistant laminate top|laminate'],
        [
          'an electric height-adjustable frame with memory presets|height-adjustable',
          'built-in cable management|cable-management',
          'a slim drawer for stationery|drawer',
          'a steel frame that stays steady while you type|steel-frame',
          'levelling feet for uneven floors|levelling-feet',
          'a pull-out keyboard tray|keyboard-tray',
        ],
        ['working from home|home-office', 'small bedroom study corners|study', 'gaming and streaming setups|gaming', 'students doing homework|student'],
      ),
    ],
  },
  {
    name: 'Electronics Audio',
    named: true,
    brands: ['Sonaro', 'Quillfield Audio', 'Halden Acoustics', 'Vireo Sound', 'Bassline Labs'],
    leaves: [
      L(
        'Wireless Headphones',
        21,
        TECH,
        ['pair of wireless over-ear headphones', 'pair of noise-cancelling headphones', 'pair of on-ear wireless headphones', 'wireless headset'],
        [
          'memory-foam ear cushions|memory-foam',
          'a lightweight aluminium headband|aluminium',
          'protein leather ear pads|protein-leather',
          'a foldable frame|foldable',
        ],
        [
          'active noise cancellation|anc',
          'up to 40 hours of battery life|long-battery',
          '40 mm dynamic drivers|40mm-drivers',
          'a transparency mode|transparency-mode',
          'multipoint pairing with two devices|multipoint',
          'USB-C fast charging|usb-c',
          'a built-in microphone for calls|microphone',
        ],
        ['long-haul flights|travel', 'focusing in a noisy office|office', 'daily commutes on the train|commute', 'late-night listening|music'],
      ),
      L(
        'Portable Speakers',
        20,
        BRIGHT,
        ['portable wireless speaker', 'rugged outdoor speaker', 'party speaker', 'compact wireless speaker'],
        ['a rugged silicone shell|rugged', 'a fabric-wrapped body|fabric', 'an aluminium grille|aluminium', 'a shock-resistant rubber housing|shockproof'],
        [
          'an IP67 dust and water rating|ip67',
          '360-degree sound|360-sound',
          'dual passive radiators for deep bass|bass',
          '18 hours of playtime|long-battery',
          'stereo pairing with a second speaker|stereo-pairing',
          'a built-in carry strap|strap',
        ],
        ['beach days and pool parties|beach', 'backyard barbecues|outdoor', 'picnics in the park|picnic', 'shower playlists|shower'],
      ),
      L(
        'Turntables',
        19,
        ['walnut', 'matte black', 'white', 'natural oak'],
        ['turntable', 'record player', 'belt-drive turntable', 'direct-drive turntable'],
        ['a solid MDF plinth|plinth', 'a walnut veneer plinth|walnut', 'a die-cast aluminium platter|aluminium-platter', 'an acrylic platter|acrylic'],
        [
          'a pre-mounted moving-magnet cartridge|cartridge',
          'a built-in switchable phono preamp|phono-preamp',
          'two speeds for 33 and 45 rpm records|33-45-rpm',
          'an S-shaped tonearm with an adjustable counterweight|tonearm',
          'a USB output for digitising vinyl|usb',
          'a hinged dust cover|dust-cover',
        ],
        [
          'building a vinyl collection|vinyl',
          'listening to records in the living room|hifi',
          'audiophiles upgrading an entry-level setup|audiophile',
          'rediscovering old LPs|records',
        ],
      ),
      L(
        'Soundbars',
        19,
        TECH,
        ['soundbar', 'TV soundbar', 'surround sound soundbar', 'compact soundbar'],
        ['a slim aluminium enclosure|slim', 'an acoustic fabric front|fabric', 'a matte polymer housing|compact', 'an upward-firing driver array|3d-audio'],
        [
          'a wireless subwoofer|subwoofer',
          'an eARC connection to your TV|earc',
          'a dialogue enhancement mode|dialogue',
          'a night mode that softens loud effects|night-mode',
          'an optical input|optical',
          'wall-mount brackets|wall-mount',
          '5.1-channel virtual surround|surround',
        ],
        ['movie nights|home-theatre', 'upgrading flat-screen TV sound|tv', 'watching live sports|sports', 'console gaming|gaming'],
      ),
    ],
  },
  {
    name: 'Computers',
    named: true,
    brands: ['Corvix', 'Quillbyte', 'Pinnacore', 'Stratabyte', 'Nexfield'],
    leaves: [
      L(
        'Laptops',
        22,
        TECH,
        ['thin-and-light laptop', '14-inch laptop', '16-inch laptop', 'business laptop', '2-in-1 convertible laptop'],
        [
          'an aluminium unibody chassis|aluminium',
          'a magnesium alloy chassis|magnesium',
          'a recycled aluminium shell|recycled',
          'a carbon-fibre lid|carbon-fibre',
        ],
        [
          '16 GB of RAM and a 1 TB SSD|1tb-ssd',
          'a 2.8K OLED display|oled',
          'up to 18 hours of battery life|long-battery',
          'a backlit keyboard|backlit-keyboard',
          'a 1080p webcam with a privacy shutter|webcam',
          'a fingerprint reader|fingerprint',
          'two USB-C ports with 100 W charging|usb-c',
        ],
        [
          'remote work and video calls|remote-work',
          'students and coursework|student',
          'photo editing on the go|photo-editing',
          'business travel|travel',
          'coding and software development|developer',
        ],
      ),
      L(
        'Computer Monitors',
        20,
        TECH,
        ['27-inch monitor', '4K monitor', 'ultrawide monitor', 'curved gaming monitor', 'computer monitor'],
        ['an IPS panel|ips', 'a VA panel with deep contrast|va-panel', 'an OLED panel|oled', 'a fast IPS panel with thin bezels|thin-bezel'],
        [
          'a 144 Hz refresh rate|144hz',
          'a height-adjustable stand with tilt and swivel|adjustable-stand',
          'factory colour calibration|colour-accurate',
          'a USB-C port with 90 W power delivery|usb-c',
          'adaptive sync for tear-free gaming|adaptive-sync',
          'a low blue-light mode|eye-care',
          'a standard 100 mm wall-mount pattern|wall-mount',
        ],
        ['photo and video editing|creative', 'multi-window spreadsheets|productivity', 'competitive gaming|gaming', 'dual-monitor desk setups|dual-monitor'],
      ),
      L(
        'Mechanical Keyboards',
        20,
        TECH,
        ['mechanical keyboard', 'wireless mechanical keyboard', 'tenkeyless keyboard', '75% mechanical keyboard'],
        ['a CNC-machined aluminium case|aluminium', 'PBT double-shot keycaps|pbt', 'a gasket-mounted plate|gasket-mount', 'a sturdy ABS case|abs'],
        [
          'hot-swappable switches|hot-swap',
          'linear switches that feel smooth and quiet|linear',
          'a metal volume knob|volume-knob',
          'per-key RGB backlighting|rgb',
          'tri-mode connectivity over 2.4 GHz, wireless and cable|wireless',
          'sound-dampening foam|dampened',
          'a detachable braided USB-C cable|usb-c',
        ],
        ['long typing sessions|typing', 'programming marathons|programming', 'gaming setups|gaming', 'writers who love a crisp keystroke|writing'],
      ),
      L(
        'Computer Mice',
        19,
        TECH,
        ['wireless mouse', 'ergonomic mouse', 'gaming mouse', 'vertical mouse'],
        [
          'a lightweight honeycomb shell|lightweight',
          'a soft-touch rubberised finish|soft-touch',
          'a sculpted right-handed shape|ergonomic',
          'an ambidextrous shell|ambidextrous',
        ],
        [
          'a 26,000 DPI optical sensor|high-dpi',
          'silent clicks|silent',
          'a rechargeable battery that lasts 70 days|rechargeable',
          'a hyper-fast scroll wheel|scroll-wheel',
          'six programmable buttons|programmable',
          'switching between three devices|multi-device',
        ],
        ['office work|office', 'fast-paced shooters|gaming', 'reducing wrist strain|ergonomic', 'laptop users on the go|travel'],
      ),
    ],
  },
  {
    name: 'Phones & Accessories',
    named: true,
    brands: ['Kinetra', 'Orbiqo', 'Pocketwise', 'Shieldry', 'Amperly'],
    leaves: [
      L(
        'Smartphones',
        20,
        TECH,
        ['smartphone', 'unlocked smartphone', '5G smartphone', 'camera-first smartphone'],
        [
          'a 6.1-inch OLED display|oled',
          'a 6.7-inch AMOLED display|amoled',
          'an aluminium frame with a matte glass back|aluminium',
          'a recycled plastic back|recycled',
        ],
        [
          'a 50 MP main camera with optical stabilisation|50mp-camera',
          'a 5,000 mAh battery|big-battery',
          '256 GB of storage|256gb',
          'a 120 Hz refresh rate|120hz',
          'an IP68 dust and water rating|ip68',
          '45 W fast charging|fast-charging',
          'dual SIM support|dual-sim',
          'five years of security updates|updates',
        ],
        [
          'photography on the go|photography',
          'streaming and mobile gaming|streaming',
          'staying connected while travelling|travel',
          'first-time smartphone owners|everyday',
        ],
      ),
      L(
        'Phone Cases',
        20,
        BRIGHT,
        ['phone case', 'slim phone case', 'rugged phone case', 'wallet phone case', 'protective phone case'],
        ['shock-absorbing TPU|tpu', 'vegan leather|vegan-leather', 'recycled polycarbonate|polycarbonate', 'crystal-clear anti-yellowing plastic|clear'],
        [
          'raised edges that protect the camera and screen|raised-edges',
          'drop protection tested to 3 metres|drop-protection',
          'built-in magnets for wireless charging|magnetic',
          'a card slot for ID and cash|card-slot',
          'a grippy textured finish|grip',
          'precise cut-outs for ports and buttons|precise-fit',
        ],
        [
          'everyday phone protection|protection',
          'clumsy hands and busy commutes|everyday',
          'outdoor work sites|rugged',
          'showing off the colour of your phone|clear',
        ],
      ),
      L(
        'Screen Protectors',
        19,
        NONE,
        ['tempered glass screen protector', 'privacy screen protector', 'screen protector', 'matte screen protector'],
        ['9H tempered glass|tempered-glass', 'ultra-thin 0.33 mm glass|ultra-thin', 'anti-glare matte film|matte', 'privacy-filter glass|privacy'],
        [
          'an installation frame for bubble-free alignment|easy-install',
          'an oleophobic coating that resists fingerprints|anti-fingerprint',
          'case-friendly edges|case-friendly',
          'full touch sensitivity|touch-sensitive',
          'a spare in every box|2-pack',
          'a cleaning kit with wipes and dust stickers|cleaning-kit',
        ],
        [
          'protecting a new phone from scratches|scratch-protection',
          'keeping your screen private on public transport|privacy',
          'reducing glare outdoors|anti-glare',
          'kids who borrow your phone|protection',
        ],
      ),
      L(
        'Charging Cables',
        19,
        TECH,
        ['USB-C charging cable', 'braided charging cable', 'fast-charging cable', 'USB-C to USB-C cable'],
        ['double-braided nylon|braided', 'a flexible silicone jacket|silicone', 'reinforced aluminium connectors|aluminium', 'a tangle-free flat design|flat'],
        [
          '100 W power delivery|100w',
          '480 Mbps data transfer|data-transfer',
          'a strain-relief collar tested for 30,000 bends|durable',
          'a 2-metre length|2m',
          'a hook-and-loop cable tie|cable-tie',
          'a right-angle connector|right-angle',
        ],
        [
          'charging by the bedside|bedside',
          'travel bags and car rides|travel',
          'fast-charging a laptop and phone from one charger|fast-charging',
          'tidy desk setups|desk',
        ],
      ),
    ],
  },
  {
    name: 'Beauty & Skincare',
    named: true,
    brands: ['Aurelle', 'Mossbloom', 'Petalry', 'Solenne', 'Dewfield'],
    leaves: [
      L(
        'Face Moisturisers',
        20,
        NONE,
        ['face moisturiser', 'daily moisturising cream', 'hydrating gel cream', 'night cream'],
        ['hyaluronic acid|hyaluronic-acid', 'skin-barrier ceramides|ceramides', 'niacinamide|niacinamide', 'plant-derived squalane|squalane'],
        [
          'a lightweight, non-greasy texture|lightweight',
          'a fragrance-free formula|fragrance-free',
          'a 50 ml pump bottle|50ml',
          'a formula suited to sensitive skin|sensitive-skin',
          'all-day hydration|hydrating',
          'a dermatologist-tested formula|dermatologist-tested',
        ],
        [
          'dry or dehydrated skin|dry-skin',
          'morning and evening skincare routines|skincare',
          'combination skin|combination-skin',
          'layering under makeup|makeup-prep',
        ],
      ),
      L(
        'Sunscreen',
        20,
        NONE,
        ['broad-spectrum SPF 50 sunscreen', 'mineral sunscreen', 'daily face sunscreen', 'sport sunscreen lotion'],
        ['zinc oxide|zinc', 'a lightweight fluid texture|fluid', 'gentle mineral filters|mineral', 'a reef-conscious formula|reef-friendly'],
        [
          'broad-spectrum UVA and UVB protection|broad-spectrum',
          '80 minutes of water resistance|water-resistant',
          'a sheer finish with no white cast|no-white-cast',
          'a non-comedogenic formula|non-comedogenic',
          'a travel-size 50 ml tube|travel-size',
          'added vitamin E|vitamin-e',
        ],
        ['beach holidays|beach', 'daily wear under makeup|daily-spf', 'outdoor sports|sport', 'sensitive skin prone to redness|sensitive-skin'],
      ),
      L(
        'Shampoo',
        19,
        NONE,
        ['shampoo', 'sulphate-free shampoo', 'volumising shampoo', 'clarifying shampoo'],
        ['cold-pressed argan oil|argan', 'rice protein|protein', 'tea tree oil|tea-tree', 'biotin and keratin|biotin'],
        [
          'a gentle cleansing base|gentle',
          'a fresh citrus scent|citrus',
          'a colour-safe formula|colour-safe',
          'a 400 ml recyclable bottle|recyclable',
          'a silicone-free formula|silicone-free',
          'a rich, creamy lather|lather',
        ],
        ['fine or flat hair|volume', 'colour-treated hair|colour-treated', 'dry, frizzy hair|frizz', 'oily scalps|oily-scalp'],
      ),
      L(
        'Lipstick',
        19,
        ['classic red', 'nude rose', 'berry', 'coral', 'mauve', 'plum'],
        ['lipstick', 'classic lipstick', 'long-wear lipstick', 'statement lipstick'],
        [
          'a creamy shea butter formula|shea-butter',
          'a long-wearing matte formula|matte',
          'a nourishing jojoba oil formula|jojoba',
          'a vegan wax formula|vegan',
        ],
        [
          'highly pigmented colour|pigmented',
          'a transfer-resistant finish|transfer-resistant',
          'up to 12 hours of wear|long-wear',
          'a slim bullet for precise application|precise',
          'a refillable metal case|refillable',
          'a hydrating finish that never dries out lips|hydrating',
        ],
        ['everyday makeup looks|everyday', 'evenings out|night-out', 'weddings and special occasions|occasion', 'bold statement looks|bold'],
      ),
    ],
  },
  {
    name: 'Toys',
    named: true,
    brands: ['Tumblewick', 'Pipsqueak & Co.', 'Brickwell', 'Oddlot Toys', 'Jollyhop'],
    leaves: [
      L(
        'Building Sets',
        20,
        BRIGHT,
        ['building block set', 'construction set', 'brick building kit', 'magnetic building tile set'],
        ['durable ABS bricks|abs', 'magnetic plastic tiles|magnetic', 'wooden building blocks|wooden', 'interlocking plastic bricks|bricks'],
        [
          '520 pieces|520-pieces',
          'step-by-step illustrated instructions|instructions',
          'a storage tub with a lid|storage',
          'parts to build three different models|3-in-1',
          'mini figures and accessories|figures',
          'glow-in-the-dark pieces|glow',
        ],
        ['kids aged 6 and up|ages-6-plus', 'rainy-day projects|rainy-day', 'STEM learning at home|stem', 'family building sessions|family'],
      ),
      L(
        'Plush Toys',
        20,
        ['honey brown', 'cream', 'grey', 'pink', 'sky blue'],
        ['plush toy', 'stuffed animal', 'cuddly teddy bear', 'soft toy bunny'],
        ['ultra-soft plush fabric|plush', 'recycled polyester fill|recycled', 'organic cotton|organic-cotton', 'silky minky fabric|minky'],
        [
          'embroidered eyes that are safe for babies|baby-safe',
          'surface-washable fabric|washable',
          'a weighted base so it sits upright|weighted',
          'a gift-ready box|gift-box',
          'a height of 30 cm|30cm',
          'floppy, huggable limbs|huggable',
        ],
        ['bedtime cuddles|bedtime', 'newborn gifts|baby-gift', 'toddlers and preschoolers|toddler', 'nursery decor|nursery'],
      ),
      L(
        'Board Games',
        20,
        NONE,
        ['board game', 'family board game', 'strategy board game', 'cooperative board game'],
        ['a linen-finish game board|game-board', 'thick wooden tokens|wooden-tokens', 'illustrated cards and tiles|cards', 'sculpted miniatures|miniatures'],
        [
          'support for 2 to 6 players|multiplayer',
          'a 45-minute playing time|45-minutes',
          'easy-to-learn rules|easy-rules',
          'an insert that keeps components organised|organised',
          'high replay value thanks to randomised setups|replayable',
          'a solo mode|solo',
        ],
        ['game nights with friends|game-night', 'family evenings|family', 'kids aged 8 and up|ages-8-plus', 'strategy fans|strategy'],
      ),
      L(
        'Remote Control Cars',
        19,
        BRIGHT,
        ['remote control car', 'remote control monster truck', 'off-road RC buggy', 'remote control stunt car'],
        [
          'a shock-resistant plastic chassis|chassis',
          'an aluminium-reinforced frame|aluminium',
          'rubber all-terrain tyres|all-terrain',
          'a splash-proof electronics bay|splash-proof',
        ],
        [
          'a 2.4 GHz controller with an 80 m range|2-4ghz',
          'top speeds of 30 km/h|fast',
          'two rechargeable batteries for 40 minutes of play|rechargeable',
          'independent spring suspension|suspension',
          'LED headlights|led-lights',
          'a 360-degree flip stunt mode|stunts',
        ],
        ['backyard racing|racing', 'kids aged 8 and up|ages-8-plus', 'gravel and grass tracks|off-road', 'birthday gifts|gift'],
      ),
    ],
  },
  {
    name: 'Sports & Fitness',
    named: true,
    brands: ['Forgeline', 'Pacefield', 'Kettlebrook', 'Vantor Athletics', 'Ironbark Fitness'],
    leaves: [
      L(
        'Yoga Mats',
        20,
        BRIGHT,
        ['yoga mat', 'non-slip yoga mat', 'travel yoga mat', 'extra-thick exercise mat'],
        ['natural tree rubber|natural-rubber', 'TPE foam|tpe', 'cork over natural rubber|cork', 'PU-coated rubber|pu'],
        [
          'a 6 mm cushioned thickness|6mm',
          'alignment lines printed on the surface|alignment-lines',
          'a carrying strap|carry-strap',
          'a grippy surface that holds in hot classes|non-slip',
          'a closed-cell surface that wipes clean|easy-clean',
          'a foldable design|foldable',
        ],
        ['hot yoga and vinyasa flows|yoga', 'pilates and floor stretches|pilates', 'home workouts|home-workout', 'travel and studio classes|travel'],
      ),
      L(
        'Dumbbells',
        20,
        NONE,
        ['adjustable dumbbell set', 'pair of hex dumbbells', 'dumbbell set', 'pair of neoprene dumbbells'],
        ['rubber-coated cast iron|cast-iron', 'chrome-plated steel|chrome', 'neoprene-coated iron|neoprene', 'urethane heads|urethane'],
        [
          'a quick-dial weight selector from 2.5 to 24 kg|adjustable',
          'knurled ergonomic handles|knurled-grip',
          'hexagonal heads that do not roll|hex',
          'a storage rack|rack',
          'clearly marked weight labels|labelled',
          'a floor-friendly coating|floor-safe',
        ],
        ['home strength training|strength', 'garage gyms|home-gym', 'curls, presses and rows|weights', 'rehab and light toning|toning'],
      ),
      L(
        'Tennis Rackets',
        19,
        BRIGHT,
        ['tennis racket', 'graphite tennis racket', 'tennis racquet', 'junior tennis racket'],
        ['a graphite frame|graphite', 'a carbon-fibre composite frame|carbon-fibre', 'an aluminium frame|aluminium', 'a graphite and basalt layup|basalt'],
        [
          'a 100 square inch head|oversize-head',
          'a 16x19 string pattern|16x19',
          'a cushioned grip|grip',
          'a strung weight of 300 g|300g',
          'a vibration-dampening system|vibration-dampening',
          'a protective cover bag|cover',
        ],
        ['baseline rallies|baseline', 'beginner and intermediate players|beginner', 'club doubles matches|doubles', 'juniors learning the game|junior'],
      ),
      L(
        'Basketballs',
        19,
        ['orange', 'brown', 'black and gold', 'red, white and blue'],
        ['basketball', 'indoor/outdoor basketball', 'game basketball', 'official size 7 basketball'],
        ['composite leather|composite', 'durable rubber|rubber', 'genuine leather|leather', 'microfibre composite|microfibre'],
        [
          'deep channels for easy ball control|deep-channels',
          'a butyl bladder that holds air|air-retention',
          'a pebbled surface for grip|grip',
          'regulation size and weight|official-size',
          'a moisture-wicking cover|moisture-wicking',
          'a needle and hand pump in the box|pump',
        ],
        ['indoor court play|indoor', 'outdoor blacktop games|outdoor', 'pickup games|pickup', 'school and league practice|training'],
      ),
    ],
  },
  {
    name: 'Camping & Outdoor',
    named: true,
    brands: ['Pinecrest Gear', 'Cairnline', 'Emberlake Outfitters', 'Ridgefold', 'Bivvy & Burrow'],
    leaves: [
      L(
        'Tents',
        21,
        ['olive', 'sand', 'orange', 'forest green', 'grey'],
        ['backpacking tent', 'two-person tent', 'family camping tent', 'four-season tent', 'dome tent'],
        [
          'silicone-coated ripstop nylon|ripstop',
          '75D polyester|polyester',
          'a lightweight aluminium pole set|aluminium-poles',
          'a bathtub-style floor|bathtub-floor',
        ],
        [
          'two doors and two vestibules|two-doors',
          'fully taped seams and a 3,000 mm rainfly|rainfly',
          'a freestanding design that pitches in minutes|freestanding',
          'mesh panels for ventilation|mesh',
          'internal storage pockets|pockets',
          'a compression bag that packs it down small|packable',
          'colour-coded poles and clips|colour-coded',
        ],
        ['weekend camping trips|camping', 'music festivals|festival', 'alpine camps in high winds|alpine', 'family campsites|family-camping'],
      ),
      L(
        'Sleeping Bags',
        20,
        APPAREL,
        ['sleeping bag', 'mummy sleeping bag', 'three-season sleeping bag', 'rectangular sleeping bag'],
        ['800-fill down|down', 'synthetic insulation that stays warm when damp|synthetic', 'a brushed flannel lining|flannel', 'a 20D nylon shell|nylon'],
        [
          'a comfort rating of -5°C|winter-rated',
          'a draft collar|draft-collar',
          'a contoured hood|hood',
          'a two-way zip|two-way-zip',
          'a compression sack|compression-sack',
          'a footbox shaped for natural sleeping positions|footbox',
        ],
        [
          'three-season camping|3-season',
          'cold nights in the mountains|cold-weather',
          'sleepovers and car camping|car-camping',
          'lightweight backpacking|backpacking',
        ],
      ),
      L(
        'Camp Stoves',
        19,
        NONE,
        ['camping stove', 'backpacking stove', 'two-burner camp stove', 'portable gas stove'],
        ['a stainless steel body|stainless-steel', 'a titanium burner|titanium', 'a powder-coated steel case|steel', 'a wind-resistant burner head|windproof'],
        [
          'push-button piezo ignition|piezo',
          'a simmer control valve|simmer',
          'a boil time of under four minutes per litre|fast-boil',
          'foldable pot supports|foldable',
          'a hard-shell carry case|carry-case',
          'a 10,000 BTU output per burner|10000-btu',
        ],
        [
          'cooking at the campsite|camp-cooking',
          'boiling water for freeze-dried meals|backpacking',
          'tailgates and picnics|tailgate',
          'emergency kits|emergency',
        ],
      ),
      L(
        'Headlamps',
        19,
        BRIGHT,
        ['headlamp', 'rechargeable headlamp', 'bright LED head torch', 'running headlamp'],
        [
          'a lightweight polycarbonate housing|lightweight',
          'a moisture-wicking headband|headband',
          'an aluminium housing|aluminium',
          'a weather-sealed IPX4 body|weather-resistant',
        ],
        [
          'a 400-lumen beam|400-lumens',
          'a red night-vision mode|red-light',
          'a USB-C rechargeable battery|rechargeable',
          'a tilting lamp head|tilt',
          'a lock mode that prevents it switching on in your bag|lock-mode',
          'up to 100 hours on the low setting|long-runtime',
        ],
        ['night runs and early starts|night-running', 'setting up camp after dark|camping', 'power cuts at home|emergency', 'fishing before dawn|fishing'],
      ),
    ],
  },
  // Books read oddly with model names ("the Quillmere Press Juniper is a cookbook"), hence named: false.
  {
    name: 'Books',
    named: false,
    brands: ['Quillmere Press', 'Lanternfield Books', 'Harbourlight Publishing', 'Inkwell & Ash', 'Bramblegate Books'],
    leaves: [
      L(
        'Cookbooks',
        20,
        NONE,
        ['cookbook', 'baking cookbook', 'vegetarian cookbook', 'weeknight recipe book'],
        ['a hardcover binding|hardcover', 'a lay-flat binding|lay-flat', 'a paperback edition|paperback', 'an illustrated hardback edition|illustrated'],
        [
          'over 120 tested recipes|recipes',
          'full-page food photography|food-photography',
          'a chapter on pantry staples|pantry',
          'step-by-step technique guides|techniques',
          'a metric and imperial conversion chart|conversions',
          'menus for holidays and gatherings|menus',
        ],
        ['home cooks building confidence|home-cooking', 'weeknight dinners|weeknight', 'bakers of all levels|baking', 'gifting to food lovers|gift'],
      ),
      L(
        'Picture Books',
        20,
        NONE,
        ["children's picture book", 'illustrated picture book', 'bedtime story book', 'read-aloud picture book'],
        ['sturdy board pages|board-book', 'a hardcover binding|hardcover', 'a paperback edition|paperback', 'thick matte pages|matte-pages'],
        [
          'rhyming text that is fun to read aloud|rhyming',
          'watercolour illustrations on every spread|illustrated',
          'a gentle story about friendship|friendship',
          'lift-the-flap surprises|lift-the-flap',
          'a cast of sleepy woodland animals|woodland-animals',
          'a heartwarming message about kindness|kindness',
        ],
        ['bedtime reading|bedtime', 'children aged 2 to 5|ages-2-5', 'storytime at nursery|storytime', 'new readers|early-readers'],
      ),
      L(
        'Mystery Novels',
        20,
        NONE,
        ['mystery novel', 'crime thriller', 'detective novel', 'psychological thriller'],
        ['a paperback edition|paperback', 'a hardcover first edition|hardcover', 'a large-print edition|large-print', 'a pocket-sized paperback|pocket'],
        [
          'a twisting plot set in a remote Scottish village|twisty',
          'a sharp-witted detective duo|detective',
          'a locked-room puzzle|locked-room',
          'short, gripping chapters|page-turner',
          'an unreliable narrator|unreliable-narrator',
          'a shocking final reveal|twist-ending',
        ],
        ['readers who love a whodunnit|whodunnit', 'beach reading|beach-read', 'long train journeys|commute-read', 'book clubs|book-club'],
      ),
      L(
        'Travel Guides',
        19,
        NONE,
        ['travel guidebook', 'city guide', 'pocket travel guide', 'road trip guidebook'],
        ['a pocket-sized paperback format|pocket', 'a water-resistant cover|durable-cover', 'a spiral-bound format|spiral-bound', 'a pull-out city map|map'],
        [
          'neighbourhood-by-neighbourhood maps|maps',
          'suggested itineraries from one to seven days|itineraries',
          'restaurant and café recommendations|food',
          'phrasebook pages|phrasebook',
          'tips for travelling on a budget|budget',
          'up-to-date public transport information|transport',
        ],
        [
          'first-time visitors to Lisbon|lisbon',
          'a week in Japan|japan',
          'exploring the Italian lakes|italy',
          'weekend city breaks|city-break',
          'road trips along the coast|road-trip',
        ],
      ),
    ],
  },
  {
    name: 'Pet Supplies',
    named: false,
    brands: ['Whiskerfield', 'Barkwell', 'Tailwind Pet', 'Furrow & Fetch', 'Kibbleberry'],
    leaves: [
      L(
        'Dog Food',
        20,
        NONE,
        ['dry dog food', 'grain-free dog food', 'puppy food', 'adult dog kibble'],
        ['free-range chicken as the first ingredient|chicken', 'wild-caught salmon|salmon', 'grass-fed lamb|lamb', 'turkey and sweet potato|turkey'],
        [
          'added glucosamine for joint health|joint-health',
          'no artificial colours or preservatives|natural',
          'omega-3 fatty acids for a shiny coat|omega-3',
          'a 10 kg resealable bag|10kg',
          'small kibble sized for small breeds|small-breed',
          'probiotics for healthy digestion|probiotics',
        ],
        ['active adult dogs|adult-dog', 'growing puppies|puppy', 'dogs with sensitive stomachs|sensitive-stomach', 'senior dogs|senior-dog'],
      ),
      L(
        'Cat Litter',
        19,
        NONE,
        ['clumping cat litter', 'cat litter', 'unscented clumping litter', 'natural cat litter'],
        ['bentonite clay|clay', 'recycled paper pellets|paper', 'pine wood pellets|pine', 'plant-based tofu fibre|tofu'],
        [
          'tight clumping for easy scooping|clumping',
          'odour control that lasts for days|odour-control',
          'a low-dust formula|low-dust',
          'a flushable formula|flushable',
          'a 10-litre bag|10l',
          'a gentle, unscented formula|unscented',
        ],
        ['multi-cat households|multi-cat', 'small apartments|apartment', 'kittens and sensitive paws|kitten', 'eco-conscious cat owners|eco'],
      ),
      L(
        'Dog Beds',
        20,
        HOME,
        ['orthopaedic dog bed', 'dog bed', 'bolster dog bed', 'calming donut dog bed'],
        ['supportive memory foam|memory-foam', 'soft faux fur|faux-fur', 'water-resistant canvas|canvas', 'recycled polyester fill|recycled'],
        [
          'a removable, machine-washable cover|washable',
          'a non-slip base|non-slip',
          'raised bolsters where dogs can rest their heads|bolster',
          'a waterproof liner|waterproof-liner',
          'a chew-resistant zip|chew-resistant',
          'a large size for dogs up to 35 kg|large-dog',
        ],
        ['older dogs with stiff joints|senior-dog', 'anxious pups who love to burrow|calming', 'crates and car travel|crate', 'living room naps|dog-nap'],
      ),
      L(
        'Cat Trees',
        19,
        HOME,
        ['cat scratching post', 'cat tree', 'cat scratching tower', 'sisal scratching post'],
        ['natural sisal rope|sisal', 'plush carpet-covered platforms|carpet', 'corrugated cardboard|cardboard', 'solid wood and sisal|wood'],
        [
          'a heavy base that will not tip|stable',
          'a dangling pom-pom toy|toy',
          'a cosy hideaway condo|condo',
          'a lookout perch at 90 cm|perch',
          'replaceable scratching pads|replaceable',
          'wall-mount hardware|wall-mounted',
        ],
        ['indoor cats|indoor-cat', 'saving your sofa from claws|scratching', 'kittens who love to climb|kitten', 'multi-cat homes|multi-cat'],
      ),
    ],
  },
  {
    name: 'Grocery',
    named: false,
    brands: ['Pantrywell', 'Larder & Vine', 'Goldfinch Provisions', 'Fieldstone Pantry', 'Morrow Market'],
    leaves: [
      L(
        'Coffee Beans',
        21,
        NONE,
        ['whole bean coffee', 'single-origin coffee', 'bag of whole bean coffee', 'specialty coffee'],
        [
          '100% arabica beans from Ethiopia|ethiopia',
          'arabica beans from the Colombian highlands|colombia',
          'a washed Guatemalan arabica|guatemala',
          'a washed Kenyan arabica|kenya',
        ],
        [
          'tasting notes of chocolate and toasted almond|chocolate-notes',
          'bright notes of blueberry and jasmine|fruity',
          'a careful small-batch roast|small-batch',
          'a resealable 1 kg bag with a degassing valve|1kg',
          'fair-trade certification|fair-trade',
          'a roast date printed on every bag|fresh-roasted',
        ],
        ['pour-over and filter brewing|pour-over', 'cafetière mornings|french-press', 'homemade cold brew|cold-brew', 'everyday drip coffee|drip'],
      ),
      L(
        'Loose Leaf Tea',
        20,
        NONE,
        ['loose leaf tea', 'loose tea blend', 'artisan tea', 'whole-leaf tea'],
        [
          'whole leaves from Darjeeling|darjeeling',
          'first-flush Japanese sencha|sencha',
          'organic chamomile flowers|chamomile',
          'hand-rolled Taiwanese oolong|oolong',
        ],
        [
          'a 100 g resealable tin|tin',
          'organic certification|organic',
          'a reusable stainless steel infuser|infuser',
          'a delicate floral aroma|floral',
          'enough leaves for 50 cups|50-cups',
          'steeping instructions on every tin|brewing-guide',
        ],
        ['afternoon tea breaks|afternoon-tea', 'winding down before bed|evening', 'iced tea in summer|iced-tea', 'gifting to tea lovers|gift'],
      ),
      L(
        'Olive Oil',
        19,
        NONE,
        ['extra virgin olive oil', 'cold-pressed olive oil', 'estate olive oil', 'early harvest olive oil'],
        [
          'Koroneiki olives from Crete|greek',
          'Arbequina olives from Catalonia|spanish',
          'Picual olives from Andalusia|picual',
          'hand-picked Sicilian olives|italian',
        ],
        [
          'a peppery, grassy finish|peppery',
          'a 500 ml dark glass bottle that protects it from light|500ml',
          'a harvest date on the label|harvest-date',
          'acidity below 0.3%|low-acidity',
          'single-estate production|single-estate',
          'high polyphenol content|polyphenols',
        ],
        ['drizzling over salads|salad', 'dipping fresh bread|dipping', 'finishing pasta and soups|finishing', 'everyday cooking|cooking'],
      ),
      L(
        'Dark Chocolate',
        19,
        NONE,
        ['dark chocolate bar', 'single-origin chocolate bar', 'bean-to-bar chocolate', '70% dark chocolate bar'],
        ['cacao from Ecuador|ecuador', 'Madagascan cacao|madagascar', 'cacao from Peru|peru', 'Ghanaian cacao beans|ghana'],
        [
          'notes of red berries|berry-notes',
          'a pinch of sea salt|sea-salt',
          'crunchy roasted almonds|almonds',
          'only three ingredients|simple',
          'compostable packaging|compostable',
          'a clean snap that shows careful tempering|craft',
        ],
        ['an afternoon treat|treat', 'baking brownies|baking', 'wine and cheese boards|pairing', 'thoughtful gifts|gift'],
      ),
    ],
  },
  {
    name: 'Bedding',
    named: true,
    brands: ['Slumberwick', 'Linnea House', 'Cotton & Clover', 'Driftdown', 'Nightjar Home'],
    leaves: [
      L(
        'Sheet Sets',
        20,
        HOME,
        ['sheet set', 'bed sheet set', 'king-size sheet set', 'queen sheet set'],
        [
          '400-thread-count cotton sateen|sateen',
          'crisp long-staple cotton percale|percale',
          'stonewashed French linen|linen',
          'breathable bamboo lyocell|bamboo',
        ],
        [
          'deep-pocket fitted sheets for mattresses up to 40 cm|deep-pocket',
          'a flat sheet and two pillowcases|4-piece',
          'certified non-toxic dyes|non-toxic',
          'a soft hand that gets softer with every wash|soft',
          'temperature-regulating fibres|cooling',
          'envelope-closure pillowcases|envelope-closure',
        ],
        ['hot sleepers|hot-sleeper', 'guest bedrooms|guest-room', 'year-round comfort|all-season', 'refreshing your bedroom|bedroom'],
      ),
      L(
        'Bed Pillows',
        20,
        NONE,
        ['bed pillow', 'supportive pillow', 'side-sleeper pillow', 'hotel-style pillow'],
        [
          'shredded memory foam|memory-foam',
          'hypoallergenic down alternative fill|down-alternative',
          'responsibly sourced goose down|goose-down',
          'natural latex|latex',
        ],
        [
          'adjustable loft|adjustable',
          'a breathable cotton cover|cotton',
          'a cooling gel layer|cooling',
          'a removable, washable cover|washable',
          'gusseted sides for extra support|gusseted',
          'a pack of two|2-pack',
        ],
        ['side sleepers|side-sleeper', 'back sleepers|back-sleeper', 'easing neck pain|neck-support', 'allergy sufferers|hypoallergenic'],
      ),
      L(
        'Duvets',
        19,
        NONE,
        ['duvet', 'duvet insert', 'all-season duvet', 'hotel-quality duvet'],
        [
          'a 10.5 tog duck feather and down fill|feather-down',
          'hypoallergenic microfibre fill|microfibre',
          'breathable wool fill|wool',
          'mulberry silk fill|silk',
        ],
        [
          'box-stitched baffles that stop the fill shifting|box-stitched',
          'corner loops to hold the duvet cover|corner-loops',
          'a 100% cotton cambric cover|cotton',
          'a machine-washable design|washable',
          'two layers that clip together for year-round use|all-season',
          'a neat piped edge|piped-edge',
        ],
        ['cold winter nights|winter', 'warm summer nights|summer', 'people with allergies|hypoallergenic', "kids' beds|kids"],
      ),
      L(
        'Mattress Toppers',
        19,
        NONE,
        ['mattress topper', 'cooling mattress topper', 'deep mattress topper', 'mattress enhancer'],
        ['gel-infused memory foam|gel-memory-foam', 'natural latex|latex', 'soft microfibre fill|microfibre', 'duck feather fill|feather'],
        [
          'a 7 cm depth|7cm',
          'elastic corner straps that keep it in place|corner-straps',
          'a removable bamboo cover|bamboo-cover',
          'pressure relief for shoulders and hips|pressure-relief',
          'open-cell ventilation|breathable',
          'vacuum-packed delivery|vacuum-packed',
        ],
        [
          'firm mattresses that need softening|softening',
          'hot sleepers|hot-sleeper',
          'guest beds and sofa beds|guest-bed',
          'easing back and hip pain|back-pain',
        ],
      ),
    ],
  },
  {
    name: 'Tools',
    named: true,
    brands: ['Tenonworks', 'Boltmark', 'Grindstone Tools', 'Ferrule & Co.', 'Anvilcraft'],
    leaves: [
      L(
        'Cordless Drills',
        20,
        ['yellow and black', 'red', 'teal', 'orange'],
        ['cordless drill', 'cordless drill driver', 'combi drill', 'brushless drill driver'],
        [
          'a brushless 18 V motor|brushless',
          'a 20 V lithium-ion battery|lithium-ion',
          'a compact glass-filled nylon body|compact',
          'an all-metal gearbox|metal-gearbox',
        ],
        [
          'a 13 mm keyless chuck|keyless-chuck',
          'two speeds and 21 torque settings|torque-settings',
          'an LED work light|led',
          'a hammer mode for masonry|hammer-mode',
          'two batteries, a charger and a carry case|kit',
          'a belt clip|belt-clip',
        ],
        [
          'DIY projects around the house|diy',
          'assembling flat-pack furniture|flat-pack',
          'drilling into brick and timber|drilling',
          'professional trades|trade',
        ],
      ),
      L(
        'Hammers',
        19,
        NONE,
        ['claw hammer', 'framing hammer', 'finishing hammer', 'rip claw hammer'],
        [
          'a one-piece forged steel head|forged-steel',
          'a hickory handle|hickory',
          'a fibreglass handle with a rubber grip|fibreglass',
          'a titanium head|titanium',
        ],
        [
          'a 450 g head weight|450g',
          'a magnetic nail starter|magnetic',
          'a curved claw for pulling nails|claw',
          'a milled face that grips nail heads|milled-face',
          'an anti-vibration grip|anti-vibration',
          'balanced weight distribution|balanced',
        ],
        ['framing and carpentry|carpentry', 'hanging pictures|home-repair', 'light demolition jobs|demolition', 'general household repairs|household'],
      ),
      L(
        'Screwdriver Sets',
        19,
        NONE,
        ['screwdriver set', 'precision screwdriver kit', 'ratcheting screwdriver', 'insulated screwdriver set'],
        ['chrome vanadium steel shafts|chrome-vanadium', 'S2 steel bits|s2-steel', 'magnetic tips|magnetic', 'soft-grip handles|soft-grip'],
        [
          'slotted, cross-head and star bits|multi-bit',
          '1000 V insulated shafts|insulated',
          'a ratcheting handle|ratcheting',
          'a zippered storage case|case',
          'precision bits for electronics|precision',
          'colour-coded handles|colour-coded',
        ],
        ['electronics and phone repair|electronics-repair', 'electrical work|electrician', 'furniture assembly|assembly', 'everyday toolbox use|toolbox'],
      ),
      L(
        'Tape Measures',
        19,
        ['yellow', 'black', 'orange'],
        ['tape measure', 'measuring tape', '5 m tape measure', 'heavy-duty tape measure'],
        [
          'a rubberised ABS case|rubberised',
          'a nylon-coated steel blade|steel-blade',
          'a stainless steel case|stainless-steel',
          'an impact-resistant case|impact-resistant',
        ],
        [
          'a 25 mm wide blade|25mm',
          'a magnetic hook|magnetic-hook',
          'metric and imperial markings|metric-imperial',
          'an auto-lock mechanism|auto-lock',
          'a belt clip|belt-clip',
          'a 3 m blade stand-out|stand-out',
        ],
        ['measuring rooms for furniture|measuring', 'carpentry and joinery|carpentry', 'renovation projects|renovation', 'quick household jobs|household'],
      ),
    ],
  },
];

// Shared across categories on purpose: model names carry no category signal, so they add realism
// without giving the embedding model a shortcut.
const MODELS = [
  'Ridgeback',
  'Aspen',
  'Meridian',
  'Cascade',
  'Harbour',
  'Orbit',
  'Juniper',
  'Solstice',
  'Vesper',
  'Tundra',
  'Lumen',
  'Cove',
  'Ember',
  'Fjord',
  'Halcyon',
  'Kestrel',
  'Marlow',
  'Nimbus',
  'Sable',
  'Tamarack',
  'Wren',
  'Alder',
  'Bramble',
  'Cinder',
  'Drift',
  'Falcon',
  'Heron',
  'Pike',
  'Rowan',
  'Quarry',
];
const SUFFIXES = ['', '', '', ' 2', ' 3', ' II', ' Pro', ' Lite', ' Plus', ' 500', ' X'];

interface Ctx {
  brand: string;
  model: string;
  noun: string;
  mat: string;
  col: string | null;
  f: string[];
  use: string;
}
type Tpl = (c: Ctx) => string;

// "an ultrawide", "an 8 mm" but "a USB-C", "a unisex": good enough for the nouns above.
const an = (w: string) => (/^(?:[aeio]|u(?!s[bi]|ni)|8)/i.test(w) ? `an ${w}` : `a ${w}`);
const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const poss = (b: string) => (b.endsWith('s') ? `${b}'` : `${b}'s`);
// Always appended at the end of a sentence so it never splits a list of features.
const inColour = (c: Ctx) => (c.col ? pick([`, available in ${c.col}`, `, offered in ${c.col}`, `, shown here in ${c.col}`]) : '');

const OPEN_NAMED: Tpl[] = [
  (c) => `The ${c.brand} ${c.model} is ${an(c.noun)} with ${c.mat} and ${c.f[0]}${inColour(c)}.`,
  (c) => `Meet the ${c.brand} ${c.model}, ${an(c.noun)} that pairs ${c.mat} with ${c.f[0]}.`,
  // "pair of" nouns are dropped here: "X's Orbit headphones combine" reads better than "X's Orbit pair of headphones".
  (c) => `${poss(c.brand)} ${c.model} ${c.noun.replace(/^pair of /, '')} ${c.noun.startsWith('pair of ') ? 'combine' : 'combines'} ${c.mat} and ${c.f[0]}.`,
  (c) => `For anyone after ${an(c.noun)}, the ${c.brand} ${c.model} brings ${c.mat} and ${c.f[0]}${inColour(c)}.`,
];
const OPEN_ANY: Tpl[] = [
  (c) => `This ${c.noun} from ${c.brand} features ${c.mat}, plus ${c.f[0]}${inColour(c)}.`,
  (c) => `${c.brand} built this ${c.noun} around ${c.mat} and ${c.f[0]}.`,
  (c) => `${cap(an(c.noun))} from ${c.brand}, made with ${c.mat} and ${c.f[0]}${inColour(c)}.`,
  (c) => `Crafted by ${c.brand}, this ${c.noun} offers ${c.mat} together with ${c.f[0]}.`,
];
const MIDDLE: Tpl[] = [
  (c) => `It also offers ${c.f[1]} and ${c.f[2]}.`,
  (c) => `Highlights include ${c.f[1]}, along with ${c.f[2]}.`,
  (c) => `You also get ${c.f[1]} plus ${c.f[2]}.`,
  (c) => `Other details include ${c.f[1]} and ${c.f[2]}.`,
  (c) => `Thoughtful touches such as ${c.f[1]} and ${c.f[2]} round it out.`,
  (c) => `Expect ${c.f[1]} as well as ${c.f[2]}.`,
  (c) => `Standout details are ${c.f[1]} and ${c.f[2]}.`,
];
const CLOSE: Tpl[] = [
  (c) => `Ideal for ${c.use}.`,
  (c) => `A dependable pick for ${c.use}.`,
  (c) => `Built for ${c.use}.`,
  (c) => `Great for ${c.use}.`,
  (c) => `Made for ${c.use}.`,
  (c) => `A smart choice for ${c.use}.`,
  (c) => `Well suited to ${c.use}.`,
];

const text = (attr: string) => attr.split('|')[0] ?? attr;
const tagOf = (attr: string) => attr.split('|')[1];
const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
const wordCount = (s: string) => s.split(/\s+/).filter(Boolean).length;

interface Item {
  category: string;
  brand: string;
  description: string;
  tags: string[];
  metadataVersion: number;
}

function makeItem(top: Top, leaf: Leaf, seen: Set<string>): Item {
  // Retry until the copy is unique and inside the 20–70 word window; combinatorics make this converge fast.
  for (let attempt = 0; attempt < 200; attempt++) {
    const brand = pick(top.brands);
    const matAttr = pick(leaf.mats);
    const featAttrs = sample(leaf.feats, 3);
    const useAttr = pick(leaf.uses);
    const col = leaf.colours.length > 0 && rng() < 0.6 ? pick(leaf.colours) : null;
    const c: Ctx = { brand, model: pick(MODELS) + pick(SUFFIXES), noun: pick(leaf.nouns), mat: text(matAttr), col, f: featAttrs.map(text), use: text(useAttr) };

    const open = pick(top.named && rng() < 0.6 ? OPEN_NAMED : OPEN_ANY)(c);
    // Mostly three sentences; dropping one now and then varies length and rhythm like real listings.
    const shape = rng();
    const withMiddle = shape >= 0.12;
    const withClose = shape < 0.88;
    const sentences = [open, withMiddle ? pick(MIDDLE)(c) : '', withClose ? pick(CLOSE)(c) : ''].filter(Boolean);
    const description = sentences.join(' ');
    const words = wordCount(description);
    if (words < 20 || words > 70 || seen.has(description)) continue;
    // Colour only counts as mentioned if a template actually printed it.
    const colMentioned = col !== null && description.includes(col);
    seen.add(description);

    const mentioned = [matAttr, featAttrs[0] ?? '', ...(withMiddle ? featAttrs.slice(1) : []), ...(withClose ? [useAttr] : [])];
    const candidates = [
      ...new Set([
        ...(rng() < 0.7 ? [slug(leaf.name)] : []),
        ...mentioned.map(tagOf).filter((t): t is string => Boolean(t)),
        ...(colMentioned && col ? [slug(col)] : []),
      ]),
    ];
    // ~10% get 0–1 tags on purpose: the recommender's "tags are scarce, fall back to embeddings" path needs test data.
    const k = rng() < 0.1 ? Math.floor(rng() * 2) : Math.min(candidates.length, 2 + Math.floor(rng() * 5));
    const tags = shuffle(candidates).slice(0, k);
    // A few rows carry version 2 so the re-embed-on-version-change path has something to exercise.
    const metadataVersion = rng() < 0.02 ? 2 : 1;
    return { category: `${top.name} > ${leaf.name}`, brand, description, tags, metadataVersion };
  }
  throw new Error(`could not generate a unique description for ${top.name} > ${leaf.name}; add more attributes`);
}

function main(): void {
  const seen = new Set<string>();
  const items: Item[] = [];
  for (const top of CATALOG) for (const leaf of top.leaves) for (let i = 0; i < leaf.count; i++) items.push(makeItem(top, leaf, seen));
  // Interleave categories so nothing can infer category from id ranges.
  shuffle(items);
  for (const [pos, { category, mustMention }] of Object.entries(PINNED)) {
    const want = Number(pos);
    const from = items.findIndex((it, i) => it.category === category && !(String(i) in PINNED) && it.description.includes(mustMention ?? ''));
    if (from < 0) throw new Error(`no free item in ${category} to pin at position ${want}`);
    [items[want], items[from]] = [items[from] as Item, items[want] as Item];
  }

  const lines = items.map((it, i) => {
    const id = `sku-${String(i + 1).padStart(5, '0')}`;
    return JSON.stringify({
      item_id: id,
      description: it.description,
      brand: it.brand,
      category: it.category,
      image_url: `https://images.example.com/catalog/${id}.jpg`,
      tags: it.tags,
      metadata_version: it.metadataVersion,
    });
  });
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, `${lines.join('\n')}\n`);

  // Printed as a Markdown table so it can be pasted into samples/README.md unchanged.
  console.log(`wrote ${lines.length} items to samples/catalog.jsonl\n`);
  console.log('| Top-level category | Leaves | Items |\n| --- | --- | ---: |');
  for (const top of CATALOG) {
    const n = items.filter((it) => it.category.startsWith(`${top.name} > `)).length;
    console.log(`| ${top.name} | ${top.leaves.map((l) => l.name).join(', ')} | ${n} |`);
  }
  console.log(`| **Total** | ${CATALOG.reduce((s, t) => s + t.leaves.length, 0)} leaves | ${lines.length} |`);
}

main();
