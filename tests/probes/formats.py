"""Device output captured in the real formats (trimmed), shared by the probe tests."""

TEGRASTATS_ORIN_NANO = (
    "11-22-2026 05:30:01 RAM 2245/7620MB (lfb 3x4MB) SWAP 0/3810MB (cached 0MB) "
    "CPU [3%@729,1%@729,0%@729,0%@729,0%@729,0%@729] EMC_FREQ 0%@2133 GR3D_FREQ 0%@[305] "
    "VIC_FREQ 115 APE 200 cpu@47.5C soc2@45.062C soc0@46.031C gpu@46.281C tj@47.5C soc1@45.781C "
    "VDD_IN 5118mW/5230mW VDD_CPU_GPU_CV 796mW/812mW VDD_SOC 1433mW/1433mW"
)
TEGRASTATS_XAVIER = (
    "RAM 1735/7772MB (lfb 1091x4MB) SWAP 0/3886MB (cached 0MB) CPU [2%@1190,1%@1190,off,off] "
    "EMC_FREQ 0% GR3D_FREQ 0% AO@37.5C GPU@37C PMIC@100C AUX@36.5C CPU@38C thermal@37.1C "
    "VDD_IN 3828/3828 VDD_CPU_GPU_CV 489/489 VDD_SOC 1223/1223"
)

PMIC_READ_ADC = """\
     3V7_WL_SW_A current(0)=0.00390372A
       3V3_SYS_A current(1)=0.05563104A
       1V8_SYS_A current(2)=0.17467720A
      DDR_VDD2_A current(3)=0.02049603A
      DDR_VDDQ_A current(4)=0.00000000A
       1V1_SYS_A current(5)=0.17174940A
       0V8_SYS_A current(6)=0.32700360A
      VDD_CORE_A current(7)=0.71758000A
       3V3_DAC_A current(17)=0.00012210A
       3V3_ADC_A current(18)=0.00024420A
       0V8_AON_A current(16)=0.00537300A
          HDMI_A current(22)=0.02344320A
     3V7_WL_SW_V volt(8)=3.71628900V
       3V3_SYS_V volt(9)=3.31176900V
       1V8_SYS_V volt(10)=1.79619000V
      DDR_VDD2_V volt(11)=1.11201000V
      DDR_VDDQ_V volt(12)=0.60586080V
       1V1_SYS_V volt(13)=1.10372000V
       0V8_SYS_V volt(14)=0.80125750V
      VDD_CORE_V volt(15)=0.72046200V
       3V3_DAC_V volt(20)=3.30732900V
       3V3_ADC_V volt(21)=3.30806200V
       0V8_AON_V volt(19)=0.80162500V
          HDMI_V volt(23)=5.14737400V
         EXT5V_V volt(24)=5.14924000V
          BATT_V volt(25)=0.00000000V
"""

POWERMETRICS_BLOCK = """\
*** Sampled system activity (Sun Nov 22 05:30:00 2026 +0000) (1004.12ms elapsed) ***

**** Processor usage ****

E-Cluster HW active frequency: 1181 MHz
P-Cluster HW active frequency: 3228 MHz
CPU Power: 2345 mW
GPU Power: 12 mW
ANE Power: 0 mW
Combined Power (CPU + GPU + ANE): 2357 mW

**** GPU usage ****

GPU HW active frequency: 389 MHz
GPU Power: 12 mW
"""

THERMALSERVICE = """\
IsStatusOverride: false
ThermalEventListeners:
\tcallbacks: 1
\tkilled: false
ThermalStatusListeners:
\tcallbacks: 1
Thermal Status: {status}
Cached temperatures:
\tTemperature{{mValue=35.5, mType=3, mName=skin-therm, mStatus=0}}
HAL Ready: true
Current temperatures from HAL:
\tTemperature{{mValue=41.2, mType=0, mName=cpu-0-0-usr, mStatus=0}}
"""

MEMINFO_NATIVE = """\
Applications Memory Usage (in Kilobytes):
Uptime: 3522941 Realtime: 3522941

** MEMINFO in pid 12345 [/data/local/tmp/harness/ort_runner] **
                   Pss  Private  Private  SwapPss      Rss     Heap     Heap     Heap
                 Total    Dirty    Clean    Dirty    Total     Size    Alloc     Free
                ------   ------   ------   ------   ------   ------   ------   ------
  Native Heap    81234    81200        0        0    82000        0        0        0
        Other mmap  20480        4    20400        0    20600
           Unknown    120      120        0        0      200
             TOTAL   101834    81324    20400        0   102800        0        0        0
"""

MEMINFO_APP = """\
** MEMINFO in pid 4242 [com.example.bench] **
                   Pss  Private  Private  SwapPss      Rss     Heap     Heap     Heap
                 Total    Dirty    Clean    Dirty    Total     Size    Alloc     Free
  Native Heap    10468    10408        0        0    12480    14144    11734     2409
             TOTAL    39128    27996     6540        0    73936    35000    30000     5000

 App Summary
                       Pss(KB)                        Rss(KB)
                        ------                         ------
           Java Heap:     3604                          17396
           TOTAL PSS:    39128            TOTAL RSS:    73936       TOTAL SWAP PSS:        0
"""
